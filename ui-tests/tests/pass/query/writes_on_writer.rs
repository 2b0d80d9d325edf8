include!("../../common/schema.rs");

/// A writer runs everything: reads, writes, locks, raw SQL.
#[route(write)]
async fn everything(conn: &mut Writer) -> diesel_route::Result<()> {
    diesel::insert_into(users::table)
        .values((users::id.eq(1), users::name.eq("ada")))
        .on_conflict(users::id)
        .do_update()
        .set(users::name.eq("ada"))
        .execute(conn)
        .await?;
    let _: Post = diesel::insert_into(posts::table)
        .values((posts::user_id.eq(1), posts::title.eq("hi"), posts::published.eq(false)))
        .returning(Post::as_returning())
        .get_result(conn)
        .await?;
    diesel::update(posts::table.find(1))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?;
    let _: Vec<Post> = posts::table
        .select(Post::as_select())
        .for_update()
        .load(conn)
        .await?;
    diesel::delete(posts::table.filter(posts::published.eq(false)))
        .execute(conn)
        .await?;
    diesel::sql_query("UPDATE posts SET published = true")
        .execute(conn)
        .await?;
    let bound = diesel::sql_query("DELETE FROM posts WHERE id = $1")
        .bind::<diesel::sql_types::Integer, _>(1);
    diesel_route::raw_write(bound).execute(conn).await?;
    conn.batch_execute("ANALYZE posts").await?;
    let _: i64 = posts::table.count().get_result(conn).await?;
    Ok(())
}

fn main() {}
