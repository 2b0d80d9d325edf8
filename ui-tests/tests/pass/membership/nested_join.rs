include!("../../common/schema.rs");

diesel::table! {
    comments (id) {
        id -> Integer,
        post_id -> Integer,
        body -> Text,
    }
}

diesel::joinable!(comments -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(users, comments);
diesel::allow_tables_to_appear_in_same_query!(posts, comments);
diesel_route::tables!(default: comments);

/// Nested joins, inner and left, of one database's tables.
#[route(read)]
async fn nested(conn: &mut Reader) -> diesel_route::Result<Vec<(String, String, String)>> {
    Ok(users::table
        .inner_join(posts::table.inner_join(comments::table))
        .select((users::name, posts::title, comments::body))
        .load(conn)
        .await?)
}

#[route(read)]
async fn nested_left(conn: &mut Reader) -> diesel_route::Result<Vec<(String, Option<String>)>> {
    Ok(users::table
        .left_join(posts::table.left_join(comments::table))
        .select((users::name, comments::body.nullable()))
        .load(conn)
        .await?)
}

fn main() {}
