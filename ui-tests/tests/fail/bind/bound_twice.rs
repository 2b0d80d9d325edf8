include!("../../common/schema.rs");

/// A table is bound once: `posts` is already in `default` (`tables!`).
#[derive(Queryable)]
#[diesel(table_name = posts)]
#[bind("another_database")]
struct PostCopy {
    id: i32,
}

fn main() {}
