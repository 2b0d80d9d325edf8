include!("../../common/schema.rs");

struct Posts;

impl Posts {
    /// A read may run twice: it borrows `self`.
    #[route(read)]
    async fn count(self, conn: &mut Reader) -> diesel_route::Result<i64> {
        Ok(posts::table.count().get_result(conn).await?)
    }
}

fn main() {}
