//! Free ports on loopback.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn try_free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A TCP port on 127.0.0.1 that was free a moment ago; panics if none can be bound.
pub fn free_port() -> u16 {
    try_free_port().expect("bind 127.0.0.1:0")
}
