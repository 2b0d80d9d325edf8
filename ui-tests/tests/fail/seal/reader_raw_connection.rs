include!("../../common/schema.rs");

/// A reader does not hand out its raw connection: the key to it cannot be made outside
/// diesel-route.
#[route(read)]
async fn raw(conn: &mut Reader) -> diesel_route::Result<()> {
    use diesel_route::TypedConnection;
    let _ = conn.raw(diesel_route::__private::RawAccess(()));
    Ok(())
}

fn main() {}
