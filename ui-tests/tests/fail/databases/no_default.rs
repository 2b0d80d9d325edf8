diesel_route::databases! {
    analytics: postgres,
}

fn main() {}
