//! Another watch of a redundant pair: does its `/healthz` answer?

use crate::config::PeerConfig;
use crate::state::{PeerState, Ts};
use std::time::Duration;

/// Checks one other watch.
#[derive(Debug)]
pub struct PeerCollector {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
    /// What is known so far.
    pub state: PeerState,
}

impl PeerCollector {
    /// A collector for `cfg`.
    pub fn new(cfg: &PeerConfig, http: reqwest::Client, timeout: Duration) -> Self {
        Self {
            url: format!("{}/healthz", cfg.url.trim_end_matches('/')),
            http,
            timeout,
            state: PeerState {
                name: cfg.name.clone(),
                up: false,
                error: Some("not read yet".into()),
                down_since: None,
            },
        }
    }

    /// One check.
    pub async fn poll(&mut self, now: Ts) {
        let res = crate::collect::rpc::get_text(&self.http, &self.url, self.timeout)
            .await
            .and_then(|body| {
                if body.trim() == "ok" {
                    Ok(())
                } else {
                    Err(format!(
                        "{} did not answer \"ok\"; is it a bulwark watch?",
                        self.url
                    ))
                }
            });
        let st = &mut self.state;
        match res {
            Ok(()) => {
                st.up = true;
                st.error = None;
                st.down_since = None;
            }
            Err(e) => {
                if st.up || st.down_since.is_none() {
                    st.down_since = Some(now);
                }
                st.up = false;
                st.error = Some(e);
            }
        }
    }
}
