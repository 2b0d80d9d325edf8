diesel_route::databases! {
    default: postgres,
    analytics: postgres,
    analytics: sqlite,
}

fn main() {}
