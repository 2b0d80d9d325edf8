include!("../../common/schema.rs");

/// Generic routed functions: over an argument, and over the database.
#[route(read)]
async fn by_id<I>(conn: &mut Reader, id: I) -> diesel_route::Result<Option<String>>
where
    I: Into<i32> + Clone + Send,
{
    Ok(posts::table
        .find(id.into())
        .select(posts::title)
        .first(conn)
        .await
        .optional()?)
}

#[route(read)]
async fn server_of<D: diesel_route::Database>(conn: &mut Reader<'_, D>) -> diesel_route::Result<String> {
    Ok(conn.server().to_string())
}

#[route(write)]
async fn rename<T: AsRef<str> + Send>(conn: &mut Writer, id: i32, title: T) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.find(id))
        .set(posts::title.eq(title.as_ref()))
        .execute(conn)
        .await?)
}

fn main() {
    let _ = (by_id::<i32>, server_of::<default>, rename::<String>);
}
