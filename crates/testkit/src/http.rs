//! One HTTP stub server (canned or computed answers, every request recorded) and a
//! plain HTTP/1.0 GET client.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request the stub received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The request line, e.g. `GET /ping HTTP/1.1`.
    pub line: String,
    /// Path and query, e.g. `/hook`.
    pub path: String,
    /// The body (as much as `Content-Length` says).
    pub body: String,
}

impl Recorded {
    /// The body parsed as JSON; panics when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} body not JSON ({e}): {}", self.path, self.body))
    }
}

type Answer = dyn Fn(&Recorded) -> (String, String) + Send + Sync;

/// A local HTTP server on 127.0.0.1 that records every request and answers each with a
/// status line and a JSON body (a webhook receiver, an RPC returning garbage, ...).
#[derive(Debug)]
pub struct HttpStub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl HttpStub {
    /// Answer every request with `status` (e.g. `200 OK`) and `body`.
    pub fn start(status: &'static str, body: &'static str) -> Self {
        Self::answering(move |_| (status.to_string(), body.to_string()))
    }

    /// Answer each request with what `answer` says: (status line, body).
    pub fn answering(
        answer: impl Fn(&Recorded) -> (String, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rec = requests.clone();
        let answer: Arc<Answer> = Arc::new(answer);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &*answer, &rec);
            }
        });
        Self { url, requests }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// (path, JSON body) of every request; panics on a body that is not JSON.
    pub fn json_requests(&self) -> Vec<(String, Value)> {
        self.requests()
            .iter()
            .map(|r| (r.path.clone(), r.json()))
            .collect()
    }

    /// Recorded bodies.
    pub fn bodies(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.body).collect()
    }

    /// Recorded bodies parsed as JSON (non-JSON bodies are skipped).
    pub fn json_bodies(&self) -> Vec<Value> {
        self.requests()
            .iter()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect()
    }

    /// Poll until a recorded JSON body satisfies `pred`, or panic at the deadline.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = self.json_bodies().into_iter().find(|v| pred(v)) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; received:\n{:#?}",
                    self.json_bodies()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn serve(mut s: TcpStream, answer: &Answer, rec: &Mutex<Vec<Recorded>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, len) = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, len);
        }
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let line = head.lines().next().unwrap_or("").to_string();
    let req = Recorded {
        path: line.split_whitespace().nth(1).unwrap_or("/").to_string(),
        line,
        body: String::from_utf8_lossy(&buf[head_end..]).into_owned(),
    };
    let (status, body) = answer(&req);
    rec.lock().unwrap().push(req);
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Plain HTTP GET: status and body, or `None` when nothing answers.
pub fn get(url: &str) -> Option<(u16, String)> {
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Plain HTTP GET returning the body; panics when nothing listens.
pub fn http_body(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    let (addr, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    resp.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Plain HTTP GET of a CometBFT RPC path; returns the `result` object.
pub fn rpc_get(base: &str, path: &str) -> Value {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {resp}"));
    v["result"].clone()
}
