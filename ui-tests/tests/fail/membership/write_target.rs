include!("../../common/schema.rs");

/// An `UPDATE` of another database's table.
#[route(write)]
async fn rename(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::update(page_views::table)
        .set(page_views::path.eq("/"))
        .execute(conn)
        .await?)
}

fn main() {}
