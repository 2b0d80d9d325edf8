include!("../../common/schema.rs");

#[route(read)]
async fn orphans(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .filter(posts::user_id.ne_all(users::table.select(users::id)))
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {
    let _ = orphans;
}
