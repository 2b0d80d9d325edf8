// ui-tests enable the `sqlite` and `postgres` features of diesel-route, not `mysql`.
diesel_route::databases! {
    default: mysql,
}

fn main() {}
