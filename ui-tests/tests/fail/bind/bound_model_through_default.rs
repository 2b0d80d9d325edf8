include!("../../common/schema.rs");

/// `page_views` is bound to `another_database`: a `default` connection cannot query it.
#[route(read)]
async fn recent_views(conn: &mut Reader) -> diesel_route::Result<Vec<PageView>> {
    Ok(page_views::table
        .select(PageView::as_select())
        .load(conn)
        .await?)
}

fn main() {}
