include!("../../common/schema.rs");

#[route(read)]
struct Titles;

fn main() {}
