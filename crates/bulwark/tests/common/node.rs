//! A stand-in for a CometBFT node's privval listener, for driving `bulwark signer run`
//! with exact requests (including malformed ones) over the real protocol.

use base64::Engine;
use ed25519_dalek::SigningKey;
use privval::transport::SecretConnection;
use privval::{decode_response, encode_request_frame, FrameDecoder, Line, Request, Response};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A listening "node".
pub struct FakeNode {
    pub listener: TcpListener,
    pub port: u16,
}

impl FakeNode {
    pub fn listen() -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        FakeNode { listener, port }
    }

    /// Accept the signer's connection and run the SecretConnection handshake.
    pub fn accept(&self, line: Line, within: Duration) -> NodeConn {
        self.try_accept(line, within).expect("the signer dials in")
    }

    pub fn try_accept(&self, line: Line, within: Duration) -> Option<NodeConn> {
        let deadline = Instant::now() + within;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let key = SigningKey::generate(&mut rand_core::OsRng);
                    let conn = SecretConnection::handshake(s, &key).expect("handshake");
                    return Some(NodeConn {
                        conn,
                        line,
                        frames: FrameDecoder::new(10 * 1024 * 1024),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }
}

/// One accepted connection, seen from the node.
pub struct NodeConn {
    pub conn: SecretConnection<TcpStream>,
    pub line: Line,
    frames: FrameDecoder,
}

impl NodeConn {
    pub fn call(&mut self, req: &Request) -> Response {
        let frame = encode_request_frame(self.line, req).unwrap();
        self.conn.write_all(&frame).unwrap();
        let msg = self.read_frame().expect("a response");
        decode_response(self.line, &msg).unwrap()
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.conn.write_all(bytes).unwrap();
    }

    fn read_frame(&mut self) -> Option<Vec<u8>> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.frames.pop() {
                return Some(f);
            }
            match self.conn.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.frames.push(&buf[..n]).unwrap(),
            }
        }
    }

    /// True when the signer closed the connection (EOF or reset) within the read timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.conn.read(&mut buf), Ok(0))
            || matches!(self.conn.read(&mut buf), Err(e) if e.kind() != std::io::ErrorKind::WouldBlock && e.kind() != std::io::ErrorKind::TimedOut)
    }
}

/// A key file in CometBFT's format, mode 0600.
pub fn write_key(dir: &Path) -> (PathBuf, SigningKey) {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut pair = key.to_bytes().to_vec();
    pair.extend_from_slice(key.verifying_key().as_bytes());
    let json = serde_json::json!({
        "address": "",
        "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(key.verifying_key().as_bytes())},
        "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": b64.encode(&pair)},
    });
    let path = dir.join("priv_validator_key.json");
    std::fs::write(&path, json.to_string()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, key)
}

/// A signer config for one chain and the given node ports.
pub fn write_config(
    dir: &Path,
    chain: &str,
    line: &str,
    key: &Path,
    state: &Path,
    ports: &[u16],
    metrics: Option<u16>,
) -> PathBuf {
    let mut text = String::new();
    if let Some(p) = metrics {
        text.push_str(&format!("[metrics]\nlisten = \"127.0.0.1:{p}\"\n\n"));
    }
    text.push_str(&format!(
        "[[chain]]\nid = {chain:?}\nkey = {key:?}\nstate = {state:?}\nprotocol = {line:?}\nidle_timeout = \"30s\"\n"
    ));
    for (i, p) in ports.iter().enumerate() {
        text.push_str(&format!(
            "\n[[chain.node]]\nname = \"node{i}\"\naddr = \"tcp://127.0.0.1:{p}\"\n"
        ));
    }
    let path = dir.join("signer.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `bulwark signer run` as a child process, killed on drop; stderr goes to a file.
pub struct SignerProc {
    pub child: Child,
    pub log: PathBuf,
}

impl SignerProc {
    pub fn start(config: &Path) -> SignerProc {
        Self::start_with(config, &["--log-level", "debug"])
    }

    /// Start with global options (`--log-format json`, ...) before `signer run`.
    pub fn start_with(config: &Path, global: &[&str]) -> SignerProc {
        let log = config.with_extension("log");
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_bulwark"))
            .args(global)
            .args(["signer", "run", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(f)
            .spawn()
            .unwrap();
        SignerProc { child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait for the process to exit; its code, or None after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for SignerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Add `lines` (TOML) to the `[[chain]]` table of a config made by `write_config`.
pub fn add_to_chain(config: &Path, lines: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(
        config,
        text.replacen("protocol =", &format!("{lines}\nprotocol ="), 1),
    )
    .unwrap();
}

/// A stand-in node on a unix socket (no encryption).
pub struct UnixNode {
    stream: std::os::unix::net::UnixStream,
    line: Line,
    frames: FrameDecoder,
}

impl UnixNode {
    pub fn new(stream: std::os::unix::net::UnixStream, line: Line) -> UnixNode {
        UnixNode {
            stream,
            line,
            frames: FrameDecoder::new(10 * 1024 * 1024),
        }
    }

    pub fn call(&mut self, req: &Request) -> Response {
        self.stream
            .write_all(&encode_request_frame(self.line, req).unwrap())
            .unwrap();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.frames.pop() {
                return decode_response(self.line, &f).unwrap();
            }
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "the signer closed the unix connection");
            self.frames.push(&buf[..n]).unwrap();
        }
    }
}
