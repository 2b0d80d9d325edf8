include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// `DELETE ... WHERE` with a subquery of another database's table.
#[route(write)]
async fn delete_viewed(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::delete(posts::table.filter(posts::id.eq_any(page_views::table.select(page_views::id))))
        .execute(conn)
        .await?)
}

fn main() {}
