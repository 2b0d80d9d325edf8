include!("../../common/schema.rs");

/// Checking out a connection can fail: the function must be able to return the error.
#[route(read)]
async fn count(conn: &mut Reader) -> i64 {
    posts::table.count().get_result(conn).await.unwrap_or(0)
}

fn main() {}
