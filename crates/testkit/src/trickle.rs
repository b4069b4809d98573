//! A stand-in node that sends a request's bytes as slowly as a test likes (over unix://
//! or tcp:// with SecretConnection, down to one raw byte of a sealed frame at a time).

use crate::node::FakeNode;
use privval::transport::SecretConnection;
use privval::{decode_response, FrameDecoder, Line, Response};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The node's TCP stream, whose writes a test can capture instead of sending (to get
/// the sealed bytes of a message and send them at its own pace).
#[derive(Debug)]
pub struct Tap {
    stream: TcpStream,
    capture: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.read(buf)
    }
}

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.capture.lock().unwrap().as_mut() {
            Some(c) => {
                c.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => self.stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// How a frame is cut into pieces on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// One byte of the privval frame per piece (over tcp, each in its own sealed frame).
    FrameBytes,
    /// Over tcp: the raw bytes of the one sealed frame carrying it, one per piece.
    SealedBytes,
}

/// One connection from the signer, seen from a node that trickles.
#[derive(Debug)]
pub enum Trickler {
    Unix(UnixStream),
    Tcp {
        conn: Box<SecretConnection<Tap>>,
        capture: Arc<Mutex<Option<Vec<u8>>>>,
        raw: TcpStream,
    },
}

impl Trickler {
    pub fn accept_unix(l: &UnixListener) -> Trickler {
        let (s, _) = l.accept().unwrap();
        Trickler::Unix(s)
    }

    pub fn accept_tcp(node: &FakeNode, within: Duration) -> Trickler {
        let stream = node
            .accept_stream(within)
            .unwrap_or_else(|e| panic!("the signer did not dial in: {e}"));
        let raw = stream.try_clone().unwrap();
        let capture = Arc::new(Mutex::new(None));
        let tap = Tap {
            stream,
            capture: capture.clone(),
        };
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let conn = SecretConnection::handshake(tap, &key).expect("handshake");
        Trickler::Tcp {
            conn: Box::new(conn),
            capture,
            raw,
        }
    }

    /// The pieces that carry `frame` on the wire, to be written one by one.
    pub fn pieces(&mut self, frame: &[u8], cut: Cut) -> Vec<Vec<u8>> {
        match self {
            Trickler::Unix(_) => frame.iter().map(|b| vec![*b]).collect(),
            Trickler::Tcp { conn, capture, .. } => {
                let mut seal = |bytes: &[u8]| {
                    *capture.lock().unwrap() = Some(Vec::new());
                    conn.write_all(bytes).unwrap();
                    capture.lock().unwrap().take().unwrap()
                };
                match cut {
                    Cut::FrameBytes => frame.chunks(1).map(&mut seal).collect(),
                    Cut::SealedBytes => seal(frame).into_iter().map(|b| vec![b]).collect(),
                }
            }
        }
    }

    pub fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        match self {
            Trickler::Unix(s) => s.write_all(piece),
            Trickler::Tcp { raw, .. } => raw.write_all(piece),
        }
    }

    /// Whether the signer has closed the connection (checked within `wait`).
    pub fn is_closed(&mut self, wait: Duration) -> bool {
        let mut buf = [0u8; 64];
        let r = match self {
            Trickler::Unix(s) => {
                s.set_read_timeout(Some(wait)).unwrap();
                s.read(&mut buf)
            }
            Trickler::Tcp { conn, raw, .. } => {
                raw.set_read_timeout(Some(wait)).unwrap();
                conn.read(&mut buf)
            }
        };
        match r {
            Ok(0) => true,
            Ok(_) => panic!("the signer sent something unasked"),
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        }
    }

    /// Send `req` in one go and read the answer.
    pub fn call(&mut self, line: Line, req: &privval::Request) -> Response {
        let frame = privval::encode_request_frame(line, req).unwrap();
        match self {
            Trickler::Unix(s) => s.write_all(&frame).unwrap(),
            Trickler::Tcp { conn, .. } => conn.write_all(&frame).unwrap(),
        }
        self.response(line)
    }

    /// Read one response.
    pub fn response(&mut self, line: Line) -> Response {
        let mut frames = FrameDecoder::new(1 << 20);
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = frames.pop() {
                return decode_response(line, &f).unwrap();
            }
            let n = match self {
                Trickler::Unix(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    s.read(&mut buf).unwrap()
                }
                Trickler::Tcp { conn, raw, .. } => {
                    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    conn.read(&mut buf).unwrap()
                }
            };
            assert!(n > 0, "the signer closed the connection");
            frames.push(&buf[..n]).unwrap();
        }
    }
}
