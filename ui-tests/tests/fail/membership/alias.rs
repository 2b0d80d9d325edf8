include!("../../common/schema.rs");

diesel::alias!(page_views as views: Views);

/// An alias of another database's table.
#[route(read)]
async fn paths(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(views.select(views.field(page_views::path)).load(conn).await?)
}

fn main() {}
