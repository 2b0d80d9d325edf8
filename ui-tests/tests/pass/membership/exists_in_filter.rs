include!("../../common/schema.rs");

/// The same-database twin: an `exists` over `users` runs on `default`.
#[route(read)]
async fn posts_with_authors(conn: &mut Reader) -> diesel_route::Result<Vec<i32>> {
    use diesel::dsl::exists;
    Ok(posts::table
        .filter(exists(users::table.filter(users::id.eq(posts::user_id))))
        .select(posts::id)
        .load(conn)
        .await?)
}

fn main() {
    let _ = posts_with_authors;
}
