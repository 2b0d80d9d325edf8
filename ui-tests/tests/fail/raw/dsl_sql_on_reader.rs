include!("../../common/schema.rs");

/// `diesel::dsl::sql` run as a query is raw SQL: a reader runs it through `raw_read` only.
#[route(read)]
async fn count(conn: &mut Reader) -> diesel_route::Result<i64> {
    let sql = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM posts");
    Ok(sql.get_result(conn).await?)
}

fn main() {}
