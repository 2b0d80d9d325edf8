diesel_route::databases! {
    default:,
}

fn main() {}
