include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// A subquery in `ORDER BY`, of another database's table.
#[route(read)]
async fn by_views(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(posts::table
        .order(
            page_views::table
                .filter(page_views::id.eq(posts::id))
                .select(page_views::path)
                .single_value()
                .desc(),
        )
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {}
