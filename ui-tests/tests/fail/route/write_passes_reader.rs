include!("../../common/schema.rs");

#[route(write)]
async fn publish(conn: &mut Writer, id: i32) -> diesel_route::Result<usize> {
    Ok(diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await?)
}

/// A write function that passes a reader on is told what a write function takes.
#[route(write)]
async fn publish_all(conn: &mut Writer, ids: Vec<i32>) -> diesel_route::Result<()> {
    for id in ids {
        publish(&mut conn.as_reader(), id).await?;
    }
    Ok(())
}

fn main() {}
