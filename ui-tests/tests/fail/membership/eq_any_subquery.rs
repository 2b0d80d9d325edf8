include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// `eq_any` over a subquery of another database's table.
#[route(read)]
async fn viewed(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .filter(posts::id.eq_any(page_views::table.select(page_views::id)))
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {}
