include!("../../common/schema.rs");

#[derive(QueryableByName)]
struct Title {
    #[diesel(sql_type = diesel::sql_types::Text)]
    title: String,
}

/// Raw SQL in every form diesel has runs through `raw_read` on a reader.
#[route(read)]
async fn reads(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    use diesel::sql_types::{BigInt, Integer};
    let titles: Vec<Title> = diesel_route::raw_read(diesel::sql_query("SELECT title FROM posts"))
        .load(conn)
        .await?;
    let bound = diesel::sql_query("SELECT title FROM posts WHERE id = $1").bind::<Integer, _>(7);
    let _: Vec<Title> = diesel_route::raw_read(bound).load(conn).await?;
    let boxed = diesel::sql_query("SELECT title FROM posts WHERE id = $1")
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Integer, _>(7);
    let _: Vec<Title> = diesel_route::raw_read(boxed).load(conn).await?;
    let count = diesel::dsl::sql::<BigInt>("SELECT count(*) FROM posts");
    let _: i64 = diesel_route::raw_read(count).get_result(conn).await?;
    let union = posts::table.select(posts::title).union(users::table.select(users::name));
    let _: Vec<String> = diesel_route::raw_read(union).load(conn).await?;
    Ok(titles.into_iter().map(|row| row.title).collect())
}

/// A writer runs raw SQL unmarked, bound and boxed included, and through `raw_write`.
#[route(write)]
async fn writes(conn: &mut Writer) -> diesel_route::Result<()> {
    use diesel::sql_types::{BigInt, Integer};
    diesel::sql_query("UPDATE posts SET published = true").execute(conn).await?;
    diesel::sql_query("DELETE FROM posts WHERE id = $1")
        .bind::<Integer, _>(1)
        .execute(conn)
        .await?;
    diesel::sql_query("DELETE FROM posts WHERE id = $1")
        .into_boxed::<diesel::pg::Pg>()
        .bind::<Integer, _>(1)
        .execute(conn)
        .await?;
    let _: i64 = diesel::dsl::sql::<BigInt>("SELECT count(*) FROM posts")
        .get_result(conn)
        .await?;
    diesel_route::raw_write(diesel::sql_query("ANALYZE posts")).execute(conn).await?;
    Ok(())
}

fn main() {
    let _ = (reads, writes);
}
