include!("../../common/schema.rs");

diesel::alias!(page_views as views: Views);

#[route(read)]
async fn paths(conn: &mut Reader<another_database>) -> diesel_route::Result<Vec<String>> {
    Ok(views.select(views.field(page_views::path)).load(conn).await?)
}

fn main() {
    let _ = paths;
}
