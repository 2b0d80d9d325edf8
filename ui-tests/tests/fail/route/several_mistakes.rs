include!("../../common/schema.rs");

// Every mistake of one function is reported in one compile.
#[route(read, retries = 3)]
fn titles(conn: &mut Writer) {
    let _ = conn;
}

fn main() {}
