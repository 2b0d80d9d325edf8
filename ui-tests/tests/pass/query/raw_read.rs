include!("../../common/schema.rs");

#[derive(QueryableByName)]
struct Title {
    #[diesel(sql_type = diesel::sql_types::Text)]
    title: String,
}

/// Raw SQL runs on a reader when marked with `raw_read`; the reader's read-only session
/// refuses it if it writes after all. `UNION` goes the same way.
#[route(read)]
async fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    let query = diesel::sql_query("SELECT title FROM posts WHERE published");
    let titles: Vec<Title> = diesel_route::raw_read(query).load(conn).await?;
    let bound = diesel::sql_query("SELECT title FROM posts WHERE id = $1")
        .bind::<diesel::sql_types::Integer, _>(7);
    let _: Vec<Title> = diesel_route::raw_read(bound).load(conn).await?;
    let union = posts::table
        .select(posts::title)
        .union(users::table.select(users::name));
    let _: Vec<String> = diesel_route::raw_read(union).load(conn).await?;
    Ok(titles.into_iter().map(|row| row.title).collect())
}

fn main() {}
