diesel_route::databases! {
    default: postgres,
}

mod posts {}

// A path that is no `table!` module.
diesel_route::tables!(default: posts);

fn main() {}
