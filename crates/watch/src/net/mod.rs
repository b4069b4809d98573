//! What every outgoing connection shares: the TLS trust (the Mozilla roots plus
//! `tls_ca_file`), the HTTP client built on it, and error text that says what to do.
//!
//! Collectors and notifiers both use this room; it uses only the config.

pub mod tls;

/// The innermost cause of an error, which is where reqwest keeps the useful text
/// (with what to do when it is a TLS certificate problem).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    tls::explain(&cur.to_string())
}
