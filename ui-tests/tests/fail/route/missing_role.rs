include!("../../common/schema.rs");

#[route]
async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table.select(posts::title).load(conn).await?)
}

fn main() {}
