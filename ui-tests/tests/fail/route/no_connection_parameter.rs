include!("../../common/schema.rs");

#[route(read)]
async fn titles() -> diesel_route::Result<Vec<String>> {
    Ok(Vec::new())
}

#[route(read)]
async fn title(id: i32) -> diesel_route::Result<String> {
    Ok(id.to_string())
}

fn main() {}
