diesel_route::databases! {
    default postgres,
}

fn main() {}
