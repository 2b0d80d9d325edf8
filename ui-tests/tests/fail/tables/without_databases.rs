// `tables!` needs `databases!` at the crate root.
diesel::table! { posts (id) { id -> Integer } }

diesel_route::tables!(default: posts);

fn main() {}
