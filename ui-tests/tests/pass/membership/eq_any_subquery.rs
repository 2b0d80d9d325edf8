include!("../../common/schema.rs");

#[route(read)]
async fn by_named_authors(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .filter(posts::user_id.eq_any(users::table.select(users::id).filter(users::name.like("a%"))))
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {
    let _ = by_named_authors;
}
