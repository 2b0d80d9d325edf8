include!("../../common/schema.rs");

diesel::table! { comments (id) { id -> Integer } }

// A key that `databases!` does not declare, in `tables!`.
diesel_route::tables!(analytics: comments);

fn main() {}
