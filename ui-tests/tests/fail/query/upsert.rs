include!("../../common/schema.rs");

/// A reader cannot upsert.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    diesel::insert_into(users::table)
        .values((users::id.eq(1), users::name.eq("ada")))
        .on_conflict(users::id)
        .do_update()
        .set(users::name.eq("ada"))
        .execute(conn)
        .await?;
    Ok(())
}

fn main() {}
