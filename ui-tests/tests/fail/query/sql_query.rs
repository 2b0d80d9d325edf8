include!("../../common/schema.rs");

/// A reader cannot run raw SQL the types cannot check.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    diesel::sql_query("UPDATE posts SET published = true")
        .execute(conn)
        .await?;
    Ok(())
}

fn main() {}
