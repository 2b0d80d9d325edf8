diesel_route::databases! {
    default: postgres,
}

diesel_route::tables!(default:);

fn main() {}
