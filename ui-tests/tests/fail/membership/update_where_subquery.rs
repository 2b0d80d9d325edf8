include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// `UPDATE ... WHERE` with a subquery of another database's table.
#[route(write)]
async fn publish_viewed(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.filter(posts::id.eq_any(page_views::table.select(page_views::id))))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

fn main() {}
