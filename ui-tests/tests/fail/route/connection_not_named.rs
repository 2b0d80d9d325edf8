include!("../../common/schema.rs");

#[route(read)]
async fn count(_: &mut Reader) -> diesel_route::Result<i64> {
    Ok(0)
}

fn main() {}
