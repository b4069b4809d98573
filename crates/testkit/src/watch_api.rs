//! The watch daemon's `/api/status`, and the webhook payloads it sends.

use crate::http::{http_body, HttpStub};
use crate::process::Daemon;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The watch's `/api/status`.
pub fn api(port: u16) -> Value {
    let body = http_body(&format!("http://127.0.0.1:{port}/api/status"));
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/api/status not JSON ({e}): {body}"))
}

/// Poll the watch's `/api/status` (up to a minute) until `pred` holds.
pub fn wait_api(port: u16, what: &str, d: &Daemon, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let s = api(port);
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; status:\n{s:#}\nlog:\n{}",
                    d.log_text()
                );
            }
        } else if Instant::now() > deadline {
            panic!("watch never listened on {port}; log:\n{}", d.log_text());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The keys of the alerts in a grouped webhook payload, in its order.
pub fn grouped_keys(body: &Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A webhook payload for `key` with `status` (firing or resolved).
pub fn is(v: &Value, key: &str, status: &str) -> bool {
    v["key"] == key && v["status"] == status
}

/// How many webhook payloads for `key` with `status` arrived.
pub fn count(hook: &HttpStub, key: &str, status: &str) -> usize {
    hook.json_bodies()
        .iter()
        .filter(|v| is(v, key, status))
        .count()
}
