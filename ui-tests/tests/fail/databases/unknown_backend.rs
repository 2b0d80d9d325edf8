diesel_route::databases! {
    default: postgresql,
    analytics: oracle,
}

fn main() {}
