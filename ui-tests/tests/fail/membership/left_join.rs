include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// A left join with another database's table.
#[route(read)]
async fn joined(conn: &mut Reader) -> diesel_route::Result<Vec<(String, Option<String>)>> {
    Ok(posts::table
        .left_join(page_views::table.on(page_views::id.eq(posts::id)))
        .select((posts::title, page_views::path.nullable()))
        .load(conn)
        .await?)
}

fn main() {}
