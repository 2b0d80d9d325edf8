include!("../../common/schema.rs");

/// A reader cannot update.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    diesel::update(posts::table.find(1))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

fn main() {}
