include!("../../common/schema.rs");

#[route(read)]
async fn titles(conn: &mut Writer) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table.select(posts::title).load(conn).await?)
}

fn main() {}
