//! Network endpoints where no database answers.

use std::net::TcpListener;

/// A loopback port nothing listens on: connections to it are refused at once.
pub(crate) fn closed_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a free loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// A listener that never accepts: the kernel completes the TCP handshake, then nothing ever
/// answers, as with a hung server. Keep it alive for as long as the test needs it.
pub(crate) fn silent_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("a free loopback port");
    let port = listener.local_addr().expect("a bound address").port();
    (listener, port)
}
