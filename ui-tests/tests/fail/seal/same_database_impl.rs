include!("../../common/schema.rs");

// Nor can a user declare two databases the same one.
impl diesel_route::query::SameDatabase<default, page_views::table> for another_database {}

fn main() {}
