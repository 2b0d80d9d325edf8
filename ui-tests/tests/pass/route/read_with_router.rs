include!("../../common/schema.rs");

#[route(read)]
async fn paths(conn: &mut Reader<another_database>) -> diesel_route::Result<Vec<String>> {
    Ok(page_views::table.select(page_views::path).load(conn).await?)
}

/// A read function may hold the router (or a session) to call read functions of another
/// database, and use the router's other methods.
#[route(read)]
async fn overview(
    conn: &mut Reader,
    router: &mut diesel_route::Router,
    session: diesel_route::Session,
) -> diesel_route::Result<(Vec<String>, Vec<String>)> {
    let _ = router.stats();
    let mut session = session;
    let _ = paths(&mut session).await?;
    let titles = posts::table.select(posts::title).load(conn).await?;
    Ok((titles, paths(router).await?))
}

fn main() {
    let _ = overview;
}
