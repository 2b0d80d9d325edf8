include!("../../common/schema.rs");

#[bind("another_database")]
fn page_views() {}

fn main() {}
