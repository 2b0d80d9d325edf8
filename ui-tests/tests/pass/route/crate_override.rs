// `diesel_route` reached through another path, and the name shadowed at the call site:
// every macro takes the path (see the expansions' snapshots for the paths they generate).
mod deps {
    pub use ::diesel_route as routing;
}

use deps::routing::prelude::*;

deps::routing::databases! {
    crate = "deps::routing";
    default: sqlite,
}

diesel::table! {
    posts (id) {
        id -> Integer,
        title -> Text,
    }
}
deps::routing::tables!(crate = "deps::routing"; default: posts);

#[allow(unused_imports)]
use std as diesel_route;

#[route(read, crate = "deps::routing")]
async fn titles(conn: &mut Reader) -> deps::routing::Result<Vec<String>> {
    std::result::Result::Ok(posts::table.select(posts::title).load(conn).await?)
}

fn main() {
    let _ = titles;
}
