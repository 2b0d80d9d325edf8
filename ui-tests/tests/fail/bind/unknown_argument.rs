include!("../../common/schema.rs");

diesel::table! { comments (id) { id -> Integer } }

#[derive(Queryable)]
#[diesel(table_name = comments)]
#[bind("another_database", retries = 3)]
struct Comment {
    id: i32,
}

fn main() {}
