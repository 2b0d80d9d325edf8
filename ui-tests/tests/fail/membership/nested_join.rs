include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(users, page_views);
diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// Another database's table inside a nested join.
#[route(read)]
async fn nested(conn: &mut Reader) -> diesel_route::Result<Vec<(String, String)>> {
    Ok(users::table
        .inner_join(posts::table.inner_join(page_views::table.on(page_views::id.eq(posts::id))))
        .select((users::name, page_views::path))
        .load(conn)
        .await?)
}

fn main() {}
