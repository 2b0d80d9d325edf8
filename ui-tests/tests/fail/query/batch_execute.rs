include!("../../common/schema.rs");

/// A reader cannot run a batch of raw SQL.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    conn.batch_execute("DELETE FROM posts").await?;
    Ok(())
}

fn main() {}
