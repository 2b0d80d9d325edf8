include!("../../common/schema.rs");

use diesel_route::TypedConnection;

/// A helper generic over its connection may be given a reader: it cannot write.
async fn publish<C>(conn: &mut C, id: i32) -> diesel::QueryResult<usize>
where
    C: TypedConnection<Database = default>,
{
    diesel::update(posts::table.find(id))
        .set(posts::published.eq(true))
        .execute(conn)
        .await
}

fn main() {
    let _ = publish::<Writer<'static>>;
}
