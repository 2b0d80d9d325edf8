diesel_route::databases! {
    default: postgres,
}

diesel::table! { posts (id) { id -> Integer } }

diesel_route::tables!(crate = "not a path"; default: posts);

fn main() {}
