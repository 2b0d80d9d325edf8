include!("../../common/schema.rs");

#[route(read)]
async fn count(conn: Reader<'_>) -> diesel_route::Result<i64> {
    let _ = conn;
    Ok(0)
}

fn main() {}
