include!("../../common/schema.rs");

/// A type of the user's own cannot pose as a typed connection either.
struct Fake;

impl diesel_route::TypedConnection for Fake {
    type Database = default;
}

fn main() {}
