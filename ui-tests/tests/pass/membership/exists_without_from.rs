include!("../../common/schema.rs");

#[route(read)]
async fn any_posts(conn: &mut Reader) -> diesel_route::Result<bool> {
    use diesel::dsl::exists;
    Ok(diesel::select(exists(posts::table.filter(posts::published.eq(true))))
        .get_result(conn)
        .await?)
}

#[route(read)]
async fn any_views(conn: &mut Reader<another_database>) -> diesel_route::Result<bool> {
    use diesel::dsl::exists;
    Ok(diesel::select(exists(page_views::table.filter(page_views::path.eq("/"))))
        .get_result(conn)
        .await?)
}

fn main() {
    let _ = (any_posts, any_views);
}
