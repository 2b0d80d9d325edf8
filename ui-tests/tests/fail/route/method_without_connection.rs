include!("../../common/schema.rs");

struct Posts;

impl Posts {
    #[route(read)]
    async fn count(&self) -> diesel_route::Result<i64> {
        Ok(0)
    }
}

fn main() {}
