include!("../../common/schema.rs");

struct Posts {
    limit: i64,
    calls: u32,
}

impl Posts {
    /// A routed method: the connection is its first parameter after `self`.
    #[route(read)]
    async fn titles(&self, conn: &mut Reader, prefix: String) -> diesel_route::Result<Vec<String>> {
        Ok(posts::table
            .filter(posts::title.like(format!("{prefix}%")))
            .select(posts::title)
            .limit(self.limit)
            .load(conn)
            .await?)
    }

    #[route(read)]
    async fn count(&mut self, conn: &mut Reader) -> diesel_route::Result<i64> {
        self.calls += 1;
        Ok(posts::table.count().get_result(conn).await?)
    }

    #[route(write, transaction)]
    async fn publish(&mut self, conn: &mut Writer, id: i32) -> diesel_route::Result<usize> {
        self.calls += 1;
        let _ = self.titles(conn, String::new()).await?;
        Ok(diesel::update(posts::table.find(id))
            .set(posts::published.eq(true))
            .execute(conn)
            .await?)
    }

    #[route(write)]
    async fn consume(self, conn: &mut Writer) -> diesel_route::Result<usize> {
        Ok(diesel::delete(posts::table).execute(conn).await? + self.calls as usize)
    }
}

fn main() {
    let _ = (Posts::titles, Posts::count, Posts::publish, Posts::consume);
}
