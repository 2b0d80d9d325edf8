include!("../../common/schema.rs");

/// A mistake in the arguments is one error, at the argument: the function is still
/// generated (`Reader` says it reads), so its callers compile.
#[route(read, retries = 3)]
async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table.select(posts::title).load(conn).await?)
}

#[route(read)]
async fn first_title(conn: &mut Reader) -> diesel_route::Result<Option<String>> {
    Ok(titles(conn).await?.into_iter().next())
}

async fn from_the_router(router: &mut diesel_route::Router) -> diesel_route::Result<Vec<String>> {
    titles(router).await
}

fn main() {
    let _ = (first_title, from_the_router);
}
