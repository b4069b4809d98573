//! Port allocation on 127.0.0.1, so that several devnets run side by side.
//!
//! A devnet takes one block of consecutive ports. Blocks are picked at random below the
//! kernel's ephemeral range, where outgoing connections do not take them.

use crate::error::{DevnetError, Result};
use rand::Rng;
use std::net::{Ipv4Addr, TcpListener};

const RANGE_START: u16 = 20_000;
const RANGE_END: u16 = 32_000;
const ATTEMPTS: usize = 200;

/// True when a listener can bind `127.0.0.1:port` right now.
pub fn is_free(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Check that `count` ports from `base` are all free; the error names the first taken one.
pub fn check_block(base: u16, count: u16, name: impl Fn(u16) -> String) -> Result<()> {
    if base == 0 || u32::from(base) + u32::from(count) > u32::from(u16::MAX) + 1 {
        return Err(DevnetError::InvalidOption(format!(
            "--base-port {base} leaves no room for {count} ports below 65536"
        )));
    }
    for offset in 0..count {
        let port = base + offset;
        if !is_free(port) {
            return Err(DevnetError::PortInUse {
                port,
                what: name(offset),
            });
        }
    }
    Ok(())
}

/// Find a base port whose next `count` ports are free.
pub fn find_block(count: u16) -> Result<u16> {
    let mut rng = rand::thread_rng();
    let span = RANGE_END - RANGE_START - count;
    for _ in 0..ATTEMPTS {
        // Align blocks to multiples of 10 so ports are easy to read.
        let base = RANGE_START + rng.gen_range(0..span) / 10 * 10;
        if (0..count).all(|o| is_free(base + o)) {
            return Ok(base);
        }
    }
    Err(DevnetError::NoFreePorts { count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_free_block() {
        let base = find_block(12).unwrap();
        assert!((RANGE_START..RANGE_END).contains(&base));
        check_block(base, 12, |_| String::new()).unwrap();
    }

    #[test]
    fn names_a_taken_port() {
        let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let err = check_block(port, 1, |o| format!("slot {o}")).unwrap_err();
        assert!(matches!(err, DevnetError::PortInUse { port: p, .. } if p == port));
        assert!(err.to_string().contains("slot 0"), "{err}");
    }

    #[test]
    fn refuses_blocks_past_the_last_port() {
        assert!(check_block(65_530, 12, |_| String::new()).is_err());
        assert!(check_block(0, 1, |_| String::new()).is_err());
    }
}
