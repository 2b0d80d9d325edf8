include!("../../common/schema.rs");

/// A reader cannot lock rows: `FOR UPDATE` is for writers.
#[route(read)]
async fn sneaky(conn: &mut Reader) -> diesel_route::Result<()> {
    let _locked: Vec<Post> = posts::table
        .select(Post::as_select())
        .for_update()
        .load(conn)
        .await?;
    Ok(())
}

fn main() {}
