include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// A subquery in the select list, of another database's table.
#[route(read)]
async fn with_views(conn: &mut Reader) -> diesel_route::Result<Vec<(String, Option<String>)>> {
    Ok(posts::table
        .select((
            posts::title,
            page_views::table
                .filter(page_views::id.eq(posts::id))
                .select(page_views::path)
                .single_value(),
        ))
        .load(conn)
        .await?)
}

fn main() {}
