include!("../../common/schema.rs");

#[route(read)]
async fn with_authors(conn: &mut Reader) -> diesel_route::Result<Vec<(String, Option<String>)>> {
    Ok(posts::table
        .select((
            posts::title,
            users::table
                .filter(users::id.eq(posts::user_id))
                .select(users::name)
                .single_value(),
        ))
        .load(conn)
        .await?)
}

fn main() {
    let _ = with_authors;
}
