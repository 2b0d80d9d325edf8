include!("../../common/schema.rs");

// Declared together, as diesel's CLI would if both lived in one schema: diesel accepts the
// subquery, and the database check must refuse it.
diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// `page_views` lives in `another_database`: an `exists` over it cannot run on `default`.
#[route(read)]
async fn viewed_posts(conn: &mut Reader) -> diesel_route::Result<Vec<i32>> {
    use diesel::dsl::exists;
    Ok(posts::table
        .filter(exists(page_views::table.filter(page_views::id.eq(posts::id))))
        .select(posts::id)
        .load(conn)
        .await?)
}

fn main() {}
