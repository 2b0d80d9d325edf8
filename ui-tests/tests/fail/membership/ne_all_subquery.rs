include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// `ne_all` over a subquery of another database's table.
#[route(read)]
async fn unviewed(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .filter(posts::id.ne_all(page_views::table.select(page_views::id)))
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {}
