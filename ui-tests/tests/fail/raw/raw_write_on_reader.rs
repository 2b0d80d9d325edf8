include!("../../common/schema.rs");

/// SQL marked as a write needs a writer.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<usize> {
    let sql = diesel::sql_query("DELETE FROM posts");
    Ok(diesel_route::raw_write(sql).execute(conn).await?)
}

fn main() {}
