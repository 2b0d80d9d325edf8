include!("../../common/schema.rs");

/// A reader cannot insert.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    diesel::insert_into(posts::table)
        .values(posts::title.eq("hello"))
        .execute(conn)
        .await?;
    Ok(())
}

fn main() {}
