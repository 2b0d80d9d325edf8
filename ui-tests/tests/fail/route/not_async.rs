include!("../../common/schema.rs");

#[route(read)]
fn titles(conn: &mut Reader) -> diesel_route::Result<Vec<String>> {
    let _ = conn;
    Ok(Vec::new())
}

fn main() {}
