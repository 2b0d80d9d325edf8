include!("../../common/schema.rs");

// Generated code must not depend on what `Result`, `Ok` or `Err` mean where it expands.
#[allow(dead_code)]
enum Result {
    Fine,
}
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;

#[derive(Debug)]
enum AppError {
    Database(diesel_route::Error),
}

impl From<diesel_route::Error> for AppError {
    fn from(error: diesel_route::Error) -> Self {
        Self::Database(error)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error.into())
    }
}

#[route(read)]
async fn titles(conn: &mut Reader) -> std::result::Result<Vec<String>, AppError> {
    let lease = 1; // the names generated code uses are its own
    let _ = lease;
    std::result::Result::Ok(posts::table.select(posts::title).load(conn).await?)
}

fn main() {
    let _ = titles;
}
