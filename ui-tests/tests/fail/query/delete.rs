include!("../../common/schema.rs");

/// A reader cannot delete.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    diesel::delete(posts::table.filter(posts::published.eq(false)))
        .execute(conn)
        .await?;
    Ok(())
}

fn main() {}
