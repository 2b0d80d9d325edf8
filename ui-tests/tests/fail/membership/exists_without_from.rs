include!("../../common/schema.rs");

/// `SELECT EXISTS (...)` has no `FROM`: its one table is in the subquery, and it is of
/// another database. (Diesel needs no declaration for this one.)
#[route(read)]
async fn any_views(conn: &mut Reader) -> diesel_route::Result<bool> {
    use diesel::dsl::exists;
    Ok(diesel::select(exists(page_views::table.filter(page_views::path.eq("/"))))
        .get_result(conn)
        .await?)
}

fn main() {}
