//! The connection under an SMTP session: replies read with a bound on their length and on
//! their time, commands written whole.
//!
//! lettre's `SmtpConnection` keeps what it read in a private `BufReader`, buffers a reply
//! line before checking its length, and sets its timeout per `read()`. rmail reads replies
//! itself so that:
//! - a line longer than [`MAX_LINE`] or a reply longer than [`MAX_REPLY`] ends the session,
//!   with memory bounded by a few kilobytes whatever the server sends;
//! - each reply has one deadline: a server that trickles one byte a second cannot stretch a
//!   five-second timeout into a minute;
//! - the bytes already received are visible, so that anything after the `220` to STARTTLS
//!   is caught (RFC 3207 §6: nothing from before TLS may be used after it).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use std::sync::Arc;

use rustls::ClientConfig;

use super::stream::Stream;

/// The longest reply line rmail accepts, line end included (RFC 5321 allows 512).
pub(crate) const MAX_LINE: usize = 2048;

/// The longest reply rmail accepts, all lines together (Postfix's `smtp_response_limit`
/// is 100 KB too).
pub(crate) const MAX_REPLY: usize = 100 * 1024;

/// How much is read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// One SMTP reply: its code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) code: u16,
    pub(crate) lines: Vec<String>,
}

impl Reply {
    /// `"550 5.1.1 no such user"`: the code and the lines joined by spaces.
    pub(crate) fn text(&self) -> String {
        let joined = self.lines.join(" ");
        if joined.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {joined}", self.code)
        }
    }

    /// The first digit: 2 (done), 3 (go on), 4 (temporary), 5 (permanent).
    pub(crate) fn class(&self) -> u16 {
        self.code / 100
    }
}

/// Why reading or writing failed.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The deadline passed before the reply was complete.
    Timeout,
    /// The server closed the connection.
    Closed,
    /// A reply line longer than [`MAX_LINE`].
    LineTooLong,
    /// A reply longer than [`MAX_REPLY`].
    ReplyTooLong,
    /// Bytes that are not an SMTP reply.
    Malformed(String),
    /// The network (or TLS, inside the `io::Error`) failed.
    Io(io::Error),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Timeout => f.write_str("no complete reply in time"),
            WireError::Closed => f.write_str("the server closed the connection"),
            WireError::LineTooLong => {
                write!(f, "a reply line too long (over {MAX_LINE} bytes)")
            }
            WireError::ReplyTooLong => write!(f, "a reply too long (over {MAX_REPLY} bytes)"),
            WireError::Malformed(what) => write!(f, "a malformed reply ({what})"),
            WireError::Io(err) => write!(f, "{err}"),
        }
    }
}

/// A connection to an SMTP server and the bytes received but not yet used.
pub(crate) struct Wire {
    /// `None` only while TLS is being set up.
    stream: Option<Stream>,
    /// Received, not yet part of a reply: at most one partial line plus one read.
    pending: Vec<u8>,
    /// The write timeout last set, so that a long upload does not set it per write.
    write_timeout: Option<Duration>,
}

impl Wire {
    pub(crate) fn new(stream: Stream) -> Wire {
        Wire {
            stream: Some(stream),
            pending: Vec::with_capacity(READ_CHUNK),
            write_timeout: None,
        }
    }

    /// Bytes received after the last complete reply. Right after the `220` to STARTTLS
    /// this must be zero.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    fn stream(&mut self) -> Result<&mut Stream, WireError> {
        self.stream.as_mut().ok_or(WireError::Closed)
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        self.stream.as_ref().is_some_and(Stream::is_encrypted)
    }

    /// The server's certificates, leaf first (empty without TLS).
    pub(crate) fn peer_certificates(&self) -> Vec<Vec<u8>> {
        self.stream
            .as_ref()
            .map(Stream::peer_certificates)
            .unwrap_or_default()
    }

    /// Starts TLS on the connection; the handshake runs with the next reply's deadline.
    /// The caller has checked that nothing is pending: it would have come in plaintext.
    pub(crate) fn start_tls(&mut self, config: Arc<ClientConfig>, host: &str) -> io::Result<()> {
        self.pending.clear();
        let stream = self
            .stream
            .take()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        self.stream = Some(stream.into_tls(config, host)?);
        self.write_timeout = None;
        Ok(())
    }

    /// Writes `bytes` in one write call, each write bounded by `timeout`.
    pub(crate) fn write_all(&mut self, bytes: &[u8], timeout: Duration) -> Result<(), WireError> {
        if self.write_timeout != Some(timeout) {
            self.stream()?
                .set_write_timeout(timeout)
                .map_err(WireError::Io)?;
            self.write_timeout = Some(timeout);
        }
        let stream = self.stream()?;
        stream
            .write_all(bytes)
            .and_then(|()| stream.flush())
            .map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => WireError::Timeout,
                _ => WireError::Io(e),
            })
    }

    /// Reads one complete reply, which must be finished by `deadline`.
    pub(crate) fn read_reply(&mut self, deadline: Instant) -> Result<Reply, WireError> {
        let mut code = None;
        let mut lines = Vec::new();
        let mut total = 0usize;
        loop {
            let line = self.read_line(deadline)?;
            total += line.len();
            if total > MAX_REPLY {
                return Err(WireError::ReplyTooLong);
            }
            let (this_code, last, text) = parse_line(&line)?;
            if code.is_some_and(|c| c != this_code) {
                return Err(WireError::Malformed(format!(
                    "the lines of one reply have different codes ({} and {this_code})",
                    code.unwrap_or_default()
                )));
            }
            code = Some(this_code);
            lines.push(text);
            if last {
                return Ok(Reply {
                    code: this_code,
                    lines,
                });
            }
        }
    }

    /// One line up to LF (CRLF expected, bare LF tolerated), without its line end.
    fn read_line(&mut self, deadline: Instant) -> Result<Vec<u8>, WireError> {
        let mut searched = 0;
        loop {
            if let Some(pos) = self.pending[searched..].iter().position(|b| *b == b'\n') {
                let end = searched + pos;
                if end + 1 > MAX_LINE {
                    return Err(WireError::LineTooLong);
                }
                let mut line: Vec<u8> = self.pending.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            searched = self.pending.len();
            if searched >= MAX_LINE {
                return Err(WireError::LineTooLong);
            }
            self.fill(deadline)?;
        }
    }

    /// One read from the socket into `pending`, bounded by what is left until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), WireError> {
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WireError::Timeout);
            }
            let stream = self.stream()?;
            stream.set_read_timeout(left).map_err(WireError::Io)?;
            match stream.read(&mut chunk) {
                Ok(0) => return Err(WireError::Closed),
                Ok(n) => {
                    self.pending.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(WireError::Timeout);
                }
                Err(e) => return Err(WireError::Io(e)),
            }
        }
    }

    /// Closes both directions; errors no longer matter.
    pub(crate) fn shutdown(&self) {
        if let Some(stream) = &self.stream {
            stream.shutdown();
        }
    }
}

/// `DDD-text` or `DDD text` (or a bare `DDD`): the code, whether it is the last line, and
/// the text.
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), WireError> {
    let digits = line.get(..3).unwrap_or(line);
    let valid = digits.len() == 3
        && (b'2'..=b'5').contains(&digits[0])
        && digits.iter().all(u8::is_ascii_digit);
    if !valid {
        let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
        return Err(WireError::Malformed(format!("{shown:?}")));
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => {
            return Err(WireError::Malformed(format!(
                "{:?}",
                String::from_utf8_lossy(&line[..line.len().min(40)])
            )));
        }
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    use crate::config::profile::{Endpoint, Security};

    /// A wire to a local socket that is sent `script` (pieces written `gap` apart).
    fn wire_fed(script: Vec<Vec<u8>>, gap: Duration) -> Wire {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            for piece in script {
                if sock.write_all(&piece).is_err() {
                    return;
                }
                std::thread::sleep(gap);
            }
            std::thread::sleep(Duration::from_secs(3));
        });
        let stream = Stream::connect(&Endpoint::loopback(
            port,
            Security::None,
            Duration::from_secs(2),
        ))
        .unwrap();
        Wire::new(stream)
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    #[test]
    fn multi_line_replies_and_what_follows_them() {
        let mut wire = wire_fed(
            vec![
                b"250-a\r\n250-b\n250 c\r\n354 go".to_vec(),
                b"\r\n".to_vec(),
            ],
            Duration::from_millis(50),
        );
        let reply = wire.read_reply(soon()).unwrap();
        assert_eq!(
            (reply.code, reply.lines.clone()),
            (250, vec!["a".into(), "b".into(), "c".into()])
        );
        assert!(wire.pending() > 0, "the next reply is already here");
        assert_eq!(wire.read_reply(soon()).unwrap().code, 354);
        assert_eq!(wire.pending(), 0);
    }

    #[test]
    fn bounds_on_lines_and_replies() {
        let mut wire = wire_fed(vec![vec![b'2'; 10_000]], Duration::ZERO);
        assert!(matches!(
            wire.read_reply(soon()),
            Err(WireError::LineTooLong)
        ));
        assert!(wire.pending.len() < MAX_LINE + READ_CHUNK);

        let many =
            b"250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n".repeat(3000);
        let mut wire = wire_fed(vec![many], Duration::ZERO);
        assert!(matches!(
            wire.read_reply(soon()),
            Err(WireError::ReplyTooLong)
        ));

        let mut wire = wire_fed(vec![b"250-a\r\n550 b\r\n".to_vec()], Duration::ZERO);
        assert!(matches!(
            wire.read_reply(soon()),
            Err(WireError::Malformed(_))
        ));
    }

    #[test]
    fn one_deadline_for_the_whole_reply() {
        // A byte every 100 ms: each read is quick, the reply is not.
        let trickle = b"220 slow greeting\r\n".iter().map(|b| vec![*b]).collect();
        let mut wire = wire_fed(trickle, Duration::from_millis(100));
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_millis(500);
        assert!(matches!(wire.read_reply(deadline), Err(WireError::Timeout)));
        assert!(started.elapsed() < Duration::from_millis(900));
    }

    #[test]
    fn reply_lines() {
        assert_eq!(
            parse_line(b"250-PIPELINING").unwrap(),
            (250, false, "PIPELINING".into())
        );
        assert_eq!(parse_line(b"221 bye").unwrap(), (221, true, "bye".into()));
        assert_eq!(parse_line(b"354").unwrap(), (354, true, String::new()));
        assert!(parse_line(b"hello").is_err());
        assert!(parse_line(b"199 x").is_err());
        assert!(parse_line(b"25").is_err());
        assert!(parse_line(b"250x").is_err());
    }

    #[test]
    fn reply_text() {
        let reply = Reply {
            code: 550,
            lines: vec!["5.1.1 no".into(), "such user".into()],
        };
        assert_eq!(reply.text(), "550 5.1.1 no such user");
        assert_eq!(reply.class(), 5);
    }
}
