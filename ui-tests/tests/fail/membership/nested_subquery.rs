include!("../../common/schema.rs");

diesel::allow_tables_to_appear_in_same_query!(users, page_views);
diesel::allow_tables_to_appear_in_same_query!(posts, page_views);

/// A subquery inside a subquery: the inner one reads another database's table.
#[route(read)]
async fn deep(conn: &mut Reader) -> diesel_route::Result<Vec<i32>> {
    use diesel::dsl::exists;
    Ok(posts::table
        .filter(exists(users::table.filter(
            users::id
                .eq(posts::user_id)
                .and(exists(page_views::table.filter(page_views::id.eq(users::id)))),
        )))
        .select(posts::id)
        .load(conn)
        .await?)
}

fn main() {}
