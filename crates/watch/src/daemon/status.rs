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

/// Ask a running watch to read its configuration again (`POST /-/reload`): what the
/// reload did, or `Ok(Err(why))` when the watch refused the file.
pub async fn request_reload(
    url: &str,
    timeout: Duration,
) -> Result<Result<serde_json::Value, String>, WatchError> {
    let url = format!("{}/-/reload", url.trim_end_matches('/'));
    let err = |message: String| WatchError::Status {
        url: url.clone(),
        message,
    };
    let resp = reqwest::Client::new()
        .post(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| err(crate::net::root_cause(&e)))?;
    let code = resp.status();
    let body: serde_json::Value = resp.json().await.map_err(|e| err(e.to_string()))?;
    match code.as_u16() {
        200 => Ok(Ok(body)),
        400 => Ok(Err(body["error"].as_str().unwrap_or_default().to_string())),
        c => Err(err(format!(
            "HTTP status {c}: {}",
            body["error"].as_str().unwrap_or_default()
        ))),
    }
}
