diesel_route::databases! {
    default: postgres,
}

diesel::table! { posts (id) { id -> Integer } }

diesel_route::tables!(defualt: posts);

fn main() {}
