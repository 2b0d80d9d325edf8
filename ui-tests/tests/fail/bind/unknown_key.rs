include!("../../common/schema.rs");

diesel::table! {
    audit_log (id) {
        id -> Integer,
        entry -> Text,
    }
}

#[derive(Queryable)]
#[diesel(table_name = audit_log)]
#[bind("another_databse")]
pub struct AuditEntry {
    pub id: i32,
    pub entry: String,
}

fn main() {}
