diesel_route::databases! {
    crate = "diesel_route"
    default: postgres,
}

fn main() {}
