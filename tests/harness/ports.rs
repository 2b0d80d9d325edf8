//! Free loopback ports.

use std::net::TcpListener;

/// A port that was free a moment ago: the OS picks it for a listener on port 0, which is then
/// closed. Another process may still take it before the server binds it, so callers retry on
/// "Address already in use".
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("cannot bind a loopback port");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}
