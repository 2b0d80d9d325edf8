include!("../../common/schema.rs");

/// A boxed query of another database's table.
#[route(read)]
async fn paths(conn: &mut Reader, prefix: Option<String>) -> diesel_route::Result<Vec<String>> {
    let mut query = page_views::table.select(page_views::path).into_boxed();
    if let Some(prefix) = prefix {
        query = query.filter(page_views::path.like(format!("{prefix}%")));
    }
    Ok(query.load(conn).await?)
}

fn main() {}
