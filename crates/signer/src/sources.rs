//! The chain's RPC endpoints as sources the signer checks before it believes them.
//!
//! An endpoint is used only when it serves the configured chain, is not catching up, and
//! its latest block is younger than `rpc_max_block_age`. Every endpoint is asked; the
//! caller takes the highest tip of the usable ones and logs every answer.

use serde_json::Value;
use std::fmt;
use std::time::{Duration, SystemTime};

/// The latest block an endpoint reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Latest block height.
    pub height: u64,
    /// Latest block time.
    pub time: SystemTime,
}

/// Why an endpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No answer (refused, timed out, HTTP error).
    Unreachable(String),
    /// An answer that is not a CometBFT RPC result.
    Garbage(String),
    /// The endpoint serves another chain.
    WrongChain {
        /// The chain it serves.
        got: String,
        /// The configured chain.
        expected: String,
    },
    /// The node is still syncing, so its tip is not the chain's.
    CatchingUp {
        /// The height it has reached.
        height: u64,
    },
    /// The latest block is too old: the node is cut off, stopped syncing, or the chain
    /// is halted.
    Stale {
        /// The height it shows.
        height: u64,
        /// How old that block is.
        age: Duration,
        /// The configured bound.
        limit: Duration,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreachable(e) => write!(f, "unreachable ({e})"),
            Problem::Garbage(e) => write!(f, "not a CometBFT RPC answer ({e})"),
            Problem::WrongChain { got, expected } => {
                write!(f, "serves chain {got:?}, not {expected:?}")
            }
            Problem::CatchingUp { height } => {
                write!(
                    f,
                    "catching up (at height {height}), so its tip is not the chain's"
                )
            }
            Problem::Stale { height, age, limit } => write!(
                f,
                "stale: its latest block {height} is {} old, more than rpc_max_block_age {} \
                 (node cut off or halted chain)",
                humantime::format_duration(round_secs(*age)),
                humantime::format_duration(*limit)
            ),
        }
    }
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// What one endpoint answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The endpoint.
    pub url: String,
    /// Its tip, or why it cannot be used.
    pub result: Result<Tip, Problem>,
}

/// Every report on one line each, for errors.
pub fn describe(reports: &[Report]) -> String {
    reports
        .iter()
        .map(|r| match &r.result {
            Ok(t) => format!("{}: usable, tip {}", r.url, t.height),
            Err(p) => format!("{}: {p}", r.url),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The RPC endpoints of one chain.
#[derive(Debug, Clone)]
pub struct Sources {
    chain_id: String,
    urls: Vec<String>,
    max_block_age: Duration,
    agent: ureq::Agent,
}

impl Sources {
    /// Endpoints `urls` of `chain_id`; each request may take up to `timeout`.
    pub fn new(
        chain_id: &str,
        urls: &[String],
        timeout: Duration,
        max_block_age: Duration,
    ) -> Self {
        Sources {
            chain_id: chain_id.into(),
            urls: urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            max_block_age,
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
        }
    }

    /// Ask every endpoint for its tip.
    pub fn survey(&self) -> Vec<Report> {
        self.urls
            .iter()
            .map(|url| Report {
                url: url.clone(),
                result: self.tip(url),
            })
            .collect()
    }

    /// The `result` of `GET {url}/{path}`.
    pub fn get(&self, url: &str, path: &str) -> Result<Value, Problem> {
        let full = format!("{url}/{path}");
        let resp = self
            .agent
            .get(&full)
            .call()
            .map_err(|e| Problem::Unreachable(e.to_string()))?;
        let v: Value = resp
            .into_json()
            .map_err(|e| Problem::Garbage(format!("not JSON: {e}")))?;
        comet::result_of(v).map_err(garbage)
    }

    /// One endpoint's tip, checked: right chain, caught up, recent.
    pub fn tip(&self, url: &str) -> Result<Tip, Problem> {
        let st = self.get(url, "status")?;
        check_status(&st, &self.chain_id, self.max_block_age, SystemTime::now())
    }

    /// The commit for `height` on `url` (for the tip: the commit the node has seen).
    pub fn commit(&self, url: &str, height: u64) -> Result<comet::Commit, Problem> {
        let r = self.get(url, &format!("commit?height={height}"))?;
        comet::parse_commit(&r).map_err(garbage)
    }
}

fn garbage(e: comet::ParseError) -> Problem {
    Problem::Garbage(e.to_string())
}

/// Check a `/status` result: `chain_id`, `catching_up`, and the age of the latest block
/// at `now`.
pub fn check_status(
    st: &Value,
    chain_id: &str,
    max_block_age: Duration,
    now: SystemTime,
) -> Result<Tip, Problem> {
    let st = comet::parse_status(st).map_err(garbage)?;
    if st.network != chain_id {
        return Err(Problem::WrongChain {
            got: st.network,
            expected: chain_id.into(),
        });
    }
    if st.catching_up {
        return Err(Problem::CatchingUp { height: st.height });
    }
    let height = st.height;
    let time = st
        .block_time
        .ok_or_else(|| Problem::Garbage("status has no valid latest_block_time".into()))?;
    let age = now.duration_since(time).unwrap_or_default();
    // Height 0: the chain has no block yet (before genesis), so no block can be stale.
    if height > 0 && age > max_block_age {
        return Err(Problem::Stale {
            height,
            age,
            limit: max_block_age,
        });
    }
    Ok(Tip { height, time })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(network: &str, height: &str, catching_up: bool, time: &str) -> Value {
        json!({
            "node_info": {"network": network},
            "sync_info": {"latest_block_height": height, "latest_block_time": time, "catching_up": catching_up}
        })
    }

    fn at(t: &str) -> SystemTime {
        humantime::parse_rfc3339_weak(t).unwrap()
    }

    #[test]
    fn a_fresh_caught_up_node_is_usable() {
        let st = status("c", "42", false, "2026-01-01T00:00:00.123456789Z");
        let tip =
            check_status(&st, "c", Duration::from_secs(60), at("2026-01-01T00:00:30")).unwrap();
        assert_eq!(tip.height, 42);
    }

    #[test]
    fn wrong_chain_catching_up_stale_and_garbage_are_named() {
        let now = at("2026-01-01T00:10:00");
        let limit = Duration::from_secs(180);
        let e = |st: Value| check_status(&st, "c", limit, now).unwrap_err().to_string();
        assert!(e(status("d", "1", false, "2026-01-01T00:09:59Z"))
            .contains("serves chain \"d\", not \"c\""));
        assert!(
            e(status("c", "7", true, "2026-01-01T00:09:59Z")).contains("catching up (at height 7)")
        );
        let stale = e(status("c", "9", false, "2026-01-01T00:00:00Z"));
        assert!(
            stale.contains("stale") && stale.contains("10m") && stale.contains("3m"),
            "{stale}"
        );
        assert!(e(json!({"foo": 1})).contains("not a CometBFT RPC answer"));
        assert!(e(status("c", "x", false, "2026-01-01T00:09:59Z")).contains("latest_block_height"));
        // Before the first block there is nothing to be stale.
        let genesis = status("c", "0", false, "1970-01-01T00:00:00Z");
        assert_eq!(check_status(&genesis, "c", limit, now).unwrap().height, 0);
    }
}
