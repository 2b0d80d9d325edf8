include!("../../common/schema.rs");

/// A helper generic over its connection names the bound it needs.
async fn titles<C>(conn: &mut C) -> diesel::QueryResult<Vec<String>> {
    posts::table.select(posts::title).load(conn).await
}

fn main() {
    let _ = titles::<Reader<'static>>;
}
