include!("../../common/schema.rs");

#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<usize> {
    Ok(diesel_route::raw_read(diesel::delete(posts::table)).execute(conn).await?)
}

fn main() {}
