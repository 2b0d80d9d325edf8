include!("../../common/schema.rs");

#[derive(Debug)]
pub enum AppError {
    NotFound,
}

/// A failed checkout must fit in the error type: `AppError` has no `From<diesel_route::Error>`.
#[route(read)]
async fn count(conn: &mut Reader) -> Result<i64, AppError> {
    posts::table
        .count()
        .get_result(conn)
        .await
        .map_err(|_| AppError::NotFound)
}

fn main() {}
