//! Port allocation on 127.0.0.1, so that several devnets run side by side.
//!
//! A devnet takes one block of consecutive ports. Blocks are picked at random below the
//! kernel's ephemeral range, where outgoing connections do not take them. A picked block
//! is claimed for a while with a file in the temporary directory, so that two devnets
//! started at the same moment (before either's nodes listen) never pick overlapping
//! blocks.

use crate::error::{DevnetError, Result};
use rand::Rng;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const RANGE_START: u16 = 20_000;
const RANGE_END: u16 = 32_000;
const ATTEMPTS: usize = 200;
/// How long a claim holds a block: long enough for a devnet's nodes to bind their ports.
const CLAIM_FOR: Duration = Duration::from_secs(120);

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

/// Find a base port whose next `count` ports are free and not claimed by another devnet
/// that is starting, and claim them.
pub fn find_block(count: u16) -> Result<u16> {
    find_block_in(&claims_dir(), count)
}

fn claims_dir() -> PathBuf {
    std::env::temp_dir().join("bulwark-devnet-ports")
}

fn find_block_in(claims: &Path, count: u16) -> Result<u16> {
    // Claims are best effort: without the directory, the port check alone decides.
    let _ = std::fs::create_dir_all(claims);
    let mut rng = rand::thread_rng();
    let span = RANGE_END - RANGE_START - count;
    for _ in 0..ATTEMPTS {
        // Align blocks to multiples of 10 so ports are easy to read.
        let base = RANGE_START + rng.gen_range(0..span) / 10 * 10;
        if claimed(claims, base, count, None) || !(0..count).all(|o| is_free(base + o)) {
            continue;
        }
        let name = format!("{base}-{count}");
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(claims.join(&name))
        {
            // Two devnets picking at the same instant may both have found the range
            // unclaimed and claimed overlapping blocks under different names: look
            // again once claimed, and give way (both may, then both pick again).
            Ok(_) if claimed(claims, base, count, Some(&name)) => {
                let _ = std::fs::remove_file(claims.join(&name));
                continue;
            }
            Ok(_) => return Ok(base),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return Ok(base),
        }
    }
    Err(DevnetError::NoFreePorts { count })
}

/// True when a fresh claim (other than the one named `own`) overlaps
/// `base..base+count`. Stale claims are removed.
fn claimed(claims: &Path, base: u16, count: u16, own: Option<&str>) -> bool {
    let Ok(entries) = std::fs::read_dir(claims) else {
        return false;
    };
    let now = SystemTime::now();
    entries.flatten().any(|e| {
        let name = e.file_name();
        if own.is_some_and(|o| name.to_str() == Some(o)) {
            return false;
        }
        let Some((b, c)) = name.to_str().and_then(|n| n.split_once('-')) else {
            return false;
        };
        let (Ok(b), Ok(c)) = (b.parse::<u16>(), c.parse::<u16>()) else {
            return false;
        };
        let age = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if age > CLAIM_FOR {
            let _ = std::fs::remove_file(e.path());
            return false;
        }
        u32::from(b) < u32::from(base) + u32::from(count)
            && u32::from(base) < u32::from(b) + u32::from(c)
    })
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
    fn two_picks_never_overlap_while_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let count = 2_000;
        let a = find_block_in(dir.path(), count).unwrap();
        for _ in 0..8 {
            let b = find_block_in(dir.path(), count).unwrap();
            assert!(a + count <= b || b + count <= a, "{a} and {b} overlap");
            std::fs::remove_file(dir.path().join(format!("{b}-{count}"))).unwrap();
        }
    }

    /// Many devnets picking at the same instant, with room for few blocks: the ones
    /// that get a block never overlap.
    #[test]
    fn simultaneous_picks_never_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let count = 3_000;
        for _ in 0..20 {
            let barrier = std::sync::Barrier::new(4);
            let got: Vec<u16> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            find_block_in(dir.path(), count).ok()
                        })
                    })
                    .collect();
                hs.into_iter().filter_map(|h| h.join().unwrap()).collect()
            });
            for (i, a) in got.iter().enumerate() {
                for b in &got[i + 1..] {
                    assert!(a + count <= *b || b + count <= *a, "{a} and {b} overlap");
                }
            }
            for e in std::fs::read_dir(dir.path()).unwrap() {
                std::fs::remove_file(e.unwrap().path()).unwrap();
            }
        }
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
