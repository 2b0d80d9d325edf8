include!("../../common/schema.rs");

/// The row type given with a turbofish, as with diesel-async.
#[route(read)]
async fn rows(conn: &mut Reader) -> diesel_route::Result<()> {
    let _ = posts::table.select(Post::as_select()).load::<Post>(conn).await?;
    let _ = posts::table.select(Post::as_select()).first::<Post>(conn).await?;
    let _ = posts::table.count().get_result::<i64>(conn).await?;
    let _ = users::table.select(users::name).get_results::<String>(conn).await?;
    Ok(())
}

fn main() {
    let _ = rows;
}
