//! Reading another watch's `/api/status`.

use crate::error::WatchError;
use std::time::Duration;

/// Read `/api/status` from a running watch.
pub async fn fetch_status(url: &str, timeout: Duration) -> Result<serde_json::Value, WatchError> {
    let url = format!("{}/api/status", url.trim_end_matches('/'));
    let err = |message: String| WatchError::Status {
        url: url.clone(),
        message,
    };
    let resp = reqwest::Client::new()
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| err(crate::net::root_cause(&e)))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP status {}", resp.status().as_u16())));
    }
    resp.json().await.map_err(|e| err(e.to_string()))
}
