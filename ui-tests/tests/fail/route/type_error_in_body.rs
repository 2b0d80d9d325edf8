include!("../../common/schema.rs");

/// A mistake in the body is reported at the body, not at the attribute.
#[route(read)]
async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    let ids: Vec<i32> = posts::table.select(posts::title).load(conn).await?;
    Ok(ids)
}

fn main() {}
