include!("../../common/schema.rs");

/// A reader cannot insert, even when the insert returns rows.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    let _post: Post = diesel::insert_into(posts::table)
        .values((posts::user_id.eq(1), posts::title.eq("hello"), posts::published.eq(false)))
        .returning(Post::as_returning())
        .get_result(conn)
        .await?;
    Ok(())
}

fn main() {}
