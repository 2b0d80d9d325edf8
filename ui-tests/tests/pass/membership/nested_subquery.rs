include!("../../common/schema.rs");

diesel::alias!(posts as other_posts: OtherPosts);

#[route(read)]
async fn deep(conn: &mut Reader) -> diesel_route::Result<Vec<i32>> {
    use diesel::dsl::exists;
    Ok(posts::table
        .filter(exists(users::table.filter(
            users::id.eq(posts::user_id).and(exists(
                other_posts.filter(other_posts.field(posts::user_id).eq(users::id)),
            )),
        )))
        .select(posts::id)
        .load(conn)
        .await?)
}

fn main() {
    let _ = deep;
}
