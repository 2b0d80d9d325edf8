include!("../../common/schema.rs");

#[route(read)]
async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table.select(posts::title).load(conn).await?)
}

/// A connection of `another_database` cannot serve a function of `default`.
#[route(read)]
async fn paths(conn: &mut Reader<another_database>) -> diesel_route::Result<Vec<String>> {
    let _ = titles(conn).await?;
    Ok(page_views::table.select(page_views::path).load(conn).await?)
}

fn main() {}
