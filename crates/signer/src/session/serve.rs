//! Serving one connection: read frames within their deadline, answer them, and stop on
//! shutdown, idleness or a broken stream.

use super::refusals::RefusalLog;
use super::{End, NodeSession};
use crate::chain::Outcome;
use crate::shutdown::Shutdown;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use privval::transport::Conn;
use privval::{decode_request, encode_response_frame, FrameDecoder, Response};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

const POLL_SLICE: u16 = 250;
/// The longest one read blocks, so shutdown and the request deadline are checked in
/// between (the transports keep a partial message across a timed-out read).
pub(super) const READ_SLICE: Duration = Duration::from_millis(POLL_SLICE as u64);

impl NodeSession {
    /// Serve requests until the connection fails, goes idle, or shutdown fires.
    /// Returns why it ended and how many requests were answered.
    ///
    /// A frame must arrive whole within `request_timeout` of its first byte, however its
    /// bytes trickle in; on shutdown every frame already received is answered and a
    /// partial one is dropped.
    pub(super) fn serve(
        &self,
        mut conn: Conn,
        shutdown: &Shutdown,
        refusals: &mut RefusalLog,
    ) -> (End, u64) {
        let line = self.chain.line();
        let mut frames = FrameDecoder::for_line(line);
        let mut buf = vec![0u8; 16 * 1024];
        let mut served = 0u64;
        let mut last_request = Instant::now();
        // When the first byte of the frame being received was seen.
        let mut frame_started: Option<Instant> = None;
        loop {
            while let Some(frame) = frames.pop() {
                if let Err(why) = self.answer(&mut conn, &frame, refusals) {
                    return (End::Failed(why), served);
                }
                served += 1;
                last_request = Instant::now();
                frame_started = None;
            }
            self.log_refusals(refusals.due(Instant::now()));
            if shutdown.is_triggered() {
                return (End::Shutdown, served);
            }
            let partial = frames.has_partial_frame() || conn.has_partial_input();
            if !partial {
                frame_started = None;
            } else if let Some(t) = frame_started {
                if t.elapsed() >= self.request_timeout {
                    let why = format!(
                        "a request started {:.1?} ago is still incomplete (request_timeout = {:?}); \
                         the node or the network to it is too slow, or the node is misbehaving",
                        t.elapsed(),
                        self.request_timeout
                    );
                    return (End::Failed(why), served);
                }
            }
            if !partial && !conn.has_buffered() {
                match wait_readable(&conn) {
                    Ok(true) => {}
                    Ok(false) => {
                        if last_request.elapsed() >= self.idle_timeout {
                            return (
                                End::Failed(format!("no request for {:?}", self.idle_timeout)),
                                served,
                            );
                        }
                        continue;
                    }
                    Err(e) => return (End::Failed(format!("poll: {e}")), served),
                }
            }
            match conn.read(&mut buf) {
                Ok(0) => return (End::Failed("the node closed the connection".into()), served),
                Ok(n) => {
                    if let Err(e) = frames.push(&buf[..n]) {
                        return (End::Failed(e.to_string()), served);
                    }
                }
                // A read slice ended (the transport kept any partial message) or a signal.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::Interrupted | ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) => {}
                Err(e) => return (End::Failed(format!("read: {e}")), served),
            }
            if frame_started.is_none() && (frames.has_partial_frame() || conn.has_partial_input()) {
                frame_started = Some(Instant::now());
            }
        }
    }

    /// Decode one frame, answer it and write the answer.
    fn answer(
        &self,
        conn: &mut Conn,
        frame: &[u8],
        refusals: &mut RefusalLog,
    ) -> Result<(), String> {
        let line = self.chain.line();
        let req = decode_request(line, frame).map_err(|e| format!("undecodable request: {e}"))?;
        let name = req.message_name();
        let hrs = req.hrs().ok().flatten();
        let started = Instant::now();
        let (resp, outcome) = self.chain.handle(req);
        if let Some(hrs) = hrs {
            tracing::debug!(node = %self.name, request = name, ?hrs, outcome = outcome.as_str(), took_ms = started.elapsed().as_millis() as u64, "answered");
        }
        match outcome {
            Outcome::Refused(reason) => {
                let text = match &resp {
                    Response::Error { error, .. } => error.description.as_str(),
                    _ => "",
                };
                self.log_refusals(refusals.refused(Instant::now(), reason, text));
            }
            Outcome::Error => {
                tracing::debug!(node = %self.name, request = name, "answered with an error");
            }
            _ => {}
        }
        let bytes = encode_response_frame(line, &resp)
            .map_err(|e| format!("cannot encode {}: {e}", resp.message_name()))?;
        conn.write_all(&bytes)
            .and_then(|()| conn.flush())
            .map_err(|e| format!("write: {e}"))
    }
}

/// Wait up to one poll slice for the connection to become readable.
fn wait_readable(conn: &Conn) -> std::io::Result<bool> {
    let mut fds = [PollFd::new(conn.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(POLL_SLICE)) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
