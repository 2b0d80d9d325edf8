diesel_route::databases! {
    default: postgres,
    analytics: postgres,
}

diesel::table! { posts (id) { id -> Integer } }

diesel_route::tables!(default: posts);
diesel_route::tables!(analytics: posts);

fn main() {}
