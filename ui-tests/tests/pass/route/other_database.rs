include!("../../common/schema.rs");

/// A bound model is read and written through its own database's connections.
#[route(read)]
async fn recent_views(conn: &mut Reader<another_database>) -> diesel_route::Result<Vec<PageView>> {
    Ok(page_views::table
        .order(page_views::id.desc())
        .limit(10)
        .select(PageView::as_select())
        .load(conn)
        .await?)
}

#[route(write, transaction)]
async fn record_view(
    conn: &mut Writer<'_, another_database>,
    path: &str,
) -> diesel_route::Result<Vec<PageView>> {
    diesel::insert_into(page_views::table)
        .values(page_views::path.eq(path))
        .execute(conn)
        .await?;
    recent_views(conn).await
}

fn main() {
    let _ = record_view;
}
