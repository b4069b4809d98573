//! A small HTTP/1.1 server on loopback: keep-alive requests with a `Content-Length` body,
//! and the websocket upgrade CometBFT's `/websocket` needs. Enough for the replay server,
//! the webhook receiver and the stand-in node_exporter, and nothing else.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// Largest request head or body accepted.
const MAX_BODY: usize = 1 << 20;

/// One request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, e.g. `/block?height=5`.
    pub target: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// A query parameter, with surrounding quotes removed (CometBFT accepts `height="5"`).
    pub fn query(&self, key: &str) -> Option<&str> {
        let q = self.target.split_once('?')?.1;
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| {
                let v = v.trim_matches('"');
                v.strip_prefix("%22")
                    .and_then(|v| v.strip_suffix("%22"))
                    .unwrap_or(v)
            })
    }

    fn wants_websocket(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    }
}

/// One response.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: body.into(),
        }
    }

    /// A Prometheus text-format response.
    pub fn metrics(body: impl Into<Vec<u8>>) -> Self {
        Self {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: body.into(),
        }
    }
}

/// A websocket session's future.
pub type Session = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What a server does with requests.
pub trait Service: Send + Sync + 'static {
    /// Answer a plain request.
    fn handle(&self, req: &Request) -> Response;
    /// Run a websocket session; `None` refuses the upgrade.
    fn websocket(self: Arc<Self>, _ws: WebSocketStream<TcpStream>) -> Option<Session> {
        None
    }
}

/// Serve `svc` on `listener` until `shutdown`.
pub async fn serve<S: Service>(listener: TcpListener, svc: Arc<S>, shutdown: CancellationToken) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        let (svc, sd) = (svc.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = sd.cancelled() => {}
                _ = connection(stream, svc) => {}
            }
        });
    }
}

async fn connection<S: Service>(stream: TcpStream, svc: Arc<S>) {
    let mut reader = BufReader::new(stream);
    loop {
        let req = match read_request(&mut reader).await {
            Ok(Some(r)) => r,
            _ => return,
        };
        if req.wants_websocket() {
            let Some(key) = req.header("sec-websocket-key") else {
                return;
            };
            let accept = derive_accept_key(key.as_bytes());
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            if reader.get_mut().write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let ws =
                WebSocketStream::from_raw_socket(reader.into_inner(), Role::Server, None).await;
            if let Some(session) = svc.websocket(ws) {
                session.await;
            }
            return;
        }
        let resp = svc.handle(&req);
        let reason = match resp.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            _ => "Status",
        };
        let head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            resp.status,
            resp.content_type,
            resp.body.len()
        );
        let w = reader.get_mut();
        if w.write_all(head.as_bytes()).await.is_err() || w.write_all(&resp.body).await.is_err() {
            return;
        }
    }
}

async fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Ok(None);
    };
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = Vec::new();
    let mut size = line.len();
    loop {
        line.clear();
        let n = r.read_line(&mut line).await?;
        size += n;
        if n == 0 || size > MAX_BODY {
            return Ok(None);
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if len > MAX_BODY {
        return Ok(None);
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}
