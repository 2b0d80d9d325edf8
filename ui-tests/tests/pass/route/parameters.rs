include!("../../common/schema.rs");

/// Not `Clone`: a read taking it runs once, without the retry on a lost connection.
pub struct Token(String);

#[derive(Clone)]
pub struct Filter {
    pub published: bool,
}

/// Parameters of every shape: by value, `mut`, destructured, borrowed, not `Clone`.
#[route(read)]
async fn titles(
    conn: &mut Reader,
    (offset, limit): (i64, i64),
    mut prefix: String,
    filter: Filter,
    user_ids: &[i32],
    token: Token,
) -> diesel_route::Result<Vec<String>> {
    prefix.push('%');
    let _ = token.0;
    Ok(posts::table
        .filter(posts::title.like(prefix))
        .filter(posts::published.eq(filter.published))
        .filter(posts::user_id.eq_any(user_ids))
        .offset(offset)
        .limit(limit)
        .select(posts::title)
        .load(conn)
        .await?)
}

fn main() {
    let _ = titles;
}
