include!("../../common/schema.rs");

#[route(write)]
async fn delete_by_anonymous(conn: &mut Writer) -> diesel_route::Result<usize> {
    Ok(diesel::delete(
        posts::table.filter(posts::user_id.eq_any(users::table.select(users::id).filter(users::name.eq("")))),
    )
    .execute(conn)
    .await?)
}

/// A boxed `DELETE`: its `WHERE` clause is erased by diesel, its table is checked.
#[route(write)]
async fn delete_boxed(conn: &mut Writer, id: Option<i32>) -> diesel_route::Result<usize> {
    let mut delete = diesel::delete(posts::table).into_boxed();
    if let Some(id) = id {
        delete = delete.filter(posts::id.eq(id));
    }
    Ok(delete.execute(conn).await?)
}

fn main() {
    let _ = (delete_by_anonymous, delete_boxed);
}
