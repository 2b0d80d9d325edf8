include!("../../common/schema.rs");

use diesel::dsl::{count_star, exists, max};

diesel::alias!(users as authors: Authors);
diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Identifiable, Queryable, Selectable, Debug)]
#[diesel(table_name = users)]
struct User {
    id: i32,
    name: String,
}

#[derive(Identifiable, Queryable, Selectable, Associations, Debug)]
#[diesel(table_name = posts, belongs_to(User))]
struct OwnedPost {
    id: i32,
    user_id: i32,
    title: String,
}

/// The shapes of read an application writes, each on a reader.
#[route(read)]
async fn shapes(conn: &mut Reader, title: Option<String>, authors_of: Vec<i32>) -> diesel_route::Result<()> {
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
    // aggregates, group_by and having
    let _: Option<i32> = posts::table.select(max(posts::id)).get_result(conn).await?;
    let _: Vec<(i32, i64)> = posts::table
        .group_by(posts::user_id)
        .having(count_star().gt(1))
        .select((posts::user_id, count_star()))
        .load(conn)
        .await?;
    // distinct, distinct_on
    let _: Vec<i32> = posts::table.select(posts::user_id).distinct().load(conn).await?;
    let _: Vec<(i32, String)> = posts::table
        .distinct_on(posts::user_id)
        .select((posts::user_id, posts::title))
        .order((posts::user_id, posts::id.desc()))
        .load(conn)
        .await?;
    // alias!
    let _: Vec<(String, String)> = users::table
        .inner_join(authors.on(authors.field(users::id).eq(users::id)))
        .select((users::name, authors.field(users::name)))
        .load(conn)
        .await?;
    // case_when, a user-defined SQL function
    let _: Vec<Option<String>> = posts::table
        .select(diesel::dsl::case_when(posts::published, posts::title))
        .load(conn)
        .await?;
    let _: Vec<String> = users::table
        .filter(lower(users::name).eq("ada"))
        .order(lower(users::name))
        .select(lower(users::name))
        .load(conn)
        .await?;
    // belonging_to and grouped_by
    let people: Vec<User> = users::table.select(User::as_select()).load(conn).await?;
    let owned: Vec<OwnedPost> = OwnedPost::belonging_to(&people)
        .select(OwnedPost::as_select())
        .load(conn)
        .await?;
    let _: Vec<(User, Vec<OwnedPost>)> = owned
        .grouped_by(&people)
        .into_iter()
        .zip(people)
        .map(|(posts, user)| (user, posts))
        .collect();
    // boxed dynamic filters, a subquery among them, and a boxed expression
    let mut query = posts::table.select(posts::title).into_boxed();
    if let Some(title) = title {
        query = query.filter(posts::title.eq(title));
    }
    if !authors_of.is_empty() {
        query = query.filter(posts::user_id.eq_any(authors_of));
    }
    query = query.filter(exists(users::table.filter(users::id.eq(posts::user_id))));
    let _: Vec<String> = query.load(conn).await?;
    let published: Box<dyn BoxableExpression<posts::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>> =
        Box::new(posts::published.eq(true));
    let _: Vec<String> = posts::table.filter(published).select(posts::title).load(conn).await?;
    Ok(())
}

/// Routed calls make `Send` futures: they run in `tokio::spawn` and in axum handlers.
async fn handler(mut session: diesel_route::axum::RequestSession) -> String {
    match shapes(&mut session, None, Vec::new()).await {
        Ok(()) => "ok".to_owned(),
        Err(error) => error.to_string(),
    }
}

fn main() {
    let router = axum::Router::<()>::new().route("/", axum::routing::get(handler));
    let _ = router;
    let spawn = |mut router: diesel_route::Router| {
        tokio::spawn(async move { shapes(&mut router, None, vec![1]).await })
    };
    let _ = spawn;
}
