include!("../../common/schema.rs");

use diesel::dsl::{count_star, exists};

diesel::alias!(users as authors: AuthorsAlias);

/// Every common shape of read runs on a reader.
#[route(read)]
async fn every_read(conn: &mut Reader) -> diesel_route::Result<()> {
    // filter, order, limit, offset
    let _: Vec<Post> = posts::table
        .filter(posts::published.eq(true).and(posts::title.like("%rust%")))
        .order((posts::id.desc(), posts::title.asc()))
        .limit(10)
        .offset(20)
        .select(Post::as_select())
        .load(conn)
        .await?;
    // find, first, get_result, get_results
    let _: Post = posts::table.find(1).select(Post::as_select()).get_result(conn).await?;
    let _: Option<Post> = posts::table
        .select(Post::as_select())
        .first(conn)
        .await
        .optional()?;
    let _: Vec<String> = users::table.select(users::name).get_results(conn).await?;
    // inner and left joins
    let _: Vec<(String, String)> = posts::table
        .inner_join(users::table)
        .select((users::name, posts::title))
        .load(conn)
        .await?;
    let _: Vec<(String, Option<String>)> = users::table
        .left_join(posts::table)
        .select((users::name, posts::title.nullable()))
        .load(conn)
        .await?;
    // group by, count
    let _: Vec<(i32, i64)> = posts::table
        .group_by(posts::user_id)
        .select((posts::user_id, count_star()))
        .load(conn)
        .await?;
    let _: i64 = posts::table.count().get_result(conn).await?;
    // exists and subselects
    let _: bool = diesel::select(exists(posts::table.filter(posts::published.eq(true))))
        .get_result(conn)
        .await?;
    let writers = posts::table.select(posts::user_id);
    let _: Vec<String> = users::table
        .filter(users::id.eq_any(writers))
        .select(users::name)
        .load(conn)
        .await?;
    // boxed queries, built up at run time
    let mut query = posts::table.into_boxed();
    query = query.filter(posts::published.eq(true));
    let _: Vec<Post> = query.select(Post::as_select()).load(conn).await?;
    // aliases
    let _: Vec<(String, String)> = users::table
        .inner_join(authors.on(authors.field(users::id).eq(users::id)))
        .select((users::name, authors.field(users::name)))
        .load(conn)
        .await?;
    Ok(())
}

fn main() {}
