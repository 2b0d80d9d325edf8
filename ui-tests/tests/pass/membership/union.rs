include!("../../common/schema.rs");

/// A `UNION` of one database's tables runs without a raw path, on a reader and a writer.
#[route(read)]
async fn names(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(users::table
        .select(users::name)
        .union(posts::table.select(posts::title))
        .load(conn)
        .await?)
}

#[route(write)]
async fn names_then_write(conn: &mut Writer) -> diesel_route::Result<Vec<String>> {
    let names: Vec<String> = users::table
        .select(users::name)
        .union_all(posts::table.select(posts::title))
        .load(conn)
        .await?;
    let _: Vec<i32> = users::table
        .select(users::id)
        .except(posts::table.select(posts::user_id))
        .load(conn)
        .await?;
    Ok(names)
}

fn main() {
    let _ = (names, names_then_write);
}
