//! The examples of diesel-route; run them with `cargo run --example <name>`.
