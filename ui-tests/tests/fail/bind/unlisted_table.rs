include!("../../common/schema.rs");

diesel::table! {
    comments (id) {
        id -> Integer,
        body -> Text,
    }
}

/// `comments` is neither in a `tables!` line nor bound: its database is unknown.
#[route(read)]
async fn comments(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    Ok(comments::table.select(comments::body).load(conn).await?)
}

fn main() {}
