include!("../../common/schema.rs");

#[route(read)]
async fn by_author(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .order(
            users::table
                .filter(users::id.eq(posts::user_id))
                .select(users::name)
                .single_value()
                .desc(),
        )
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {
    let _ = by_author;
}
