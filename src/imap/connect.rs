//! The connection to the IMAP server, secured before the IMAP client sees it.
//!
//! rmail does the plaintext part itself, one byte at a time: the greeting and, for
//! STARTTLS, the command and its reply. Nothing is read ahead, so nothing the server sent
//! before TLS can be taken for something it said inside TLS; a byte waiting after the
//! STARTTLS reply is an injection attempt and ends the connection as a TLS failure. STARTTLS
//! that is refused is an error, never a fallback to plaintext. Everything the server sends
//! afterwards is bounded in bytes ([`Limited`]) and in time (socket timeouts).

use std::io::{self, Read, Write};
use std::net::TcpStream;

use rustls::{ClientConnection, StreamOwned};

use crate::error::{Error, ErrorKind};

use super::{Account, Security, printable, tls};
use crate::config::profile::Endpoint;

/// The most a server may send in one session: ample for LIST of a large account and the
/// replies to one APPEND, small enough that a hostile server cannot exhaust memory.
const MAX_SESSION_BYTES: u64 = 16 * 1024 * 1024;
/// The longest greeting or STARTTLS reply line accepted.
const MAX_LINE: usize = 8 * 1024;

/// A TCP connection, in TLS or (with `security = "none"`) not.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

/// A stream that fails once the server has sent more than its allowance.
pub(crate) struct Limited<S> {
    inner: S,
    remaining: u64,
}

impl<S: Read> Read for Limited<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Err(io::Error::other(format!(
                "the server sent more than {MAX_SESSION_BYTES} bytes"
            )));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl<S: Write> Write for Limited<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Connects to the account's server, secures the connection as `security` demands and
/// reads the greeting. The returned stream is positioned after the greeting (and, for
/// STARTTLS, inside TLS, where the client must ask for capabilities again).
pub(crate) fn open(account: &Account) -> Result<Limited<Stream>, Error> {
    let server = account.server();
    let endpoint = &account.server;
    let config = match endpoint.security {
        Security::None => None,
        Security::Tls | Security::Starttls => {
            Some(tls::config(endpoint.ca_file.as_deref(), &account.profile)?)
        }
    };
    let mut tcp = connect(endpoint, &server)?;
    let stream = match (endpoint.security, config) {
        (Security::Tls, Some(config)) => {
            let stream = handshake(config, &endpoint.host, tcp, &server)?;
            let mut stream = Stream::Tls(Box::new(stream));
            greeting(&mut stream, &server, false)?;
            stream
        }
        (Security::Starttls, Some(config)) => {
            greeting(&mut tcp, &server, true)?;
            starttls(&mut tcp, &server)?;
            Stream::Tls(Box::new(handshake(config, &endpoint.host, tcp, &server)?))
        }
        _ => {
            let mut stream = Stream::Plain(tcp);
            greeting(&mut stream, &server, false)?;
            stream
        }
    };
    Ok(Limited {
        inner: stream,
        remaining: MAX_SESSION_BYTES,
    })
}

/// TCP to the server, with its timeout on every read and write.
fn connect(endpoint: &Endpoint, server: &str) -> Result<TcpStream, Error> {
    let timeout = Some(endpoint.timeout);
    crate::tcp::connect(endpoint)
        .and_then(|tcp| {
            tcp.set_read_timeout(timeout)?;
            tcp.set_write_timeout(timeout)?;
            Ok(tcp)
        })
        .map_err(|e| {
            Error::new(
                ErrorKind::Temporary,
                format!("cannot connect to {server}: {e}"),
            )
        })
}

/// Reads the server's greeting. `* OK` (Dovecot may first send another `* OK` while its
/// authentication process starts: the tagged exchange that follows skips it) goes on;
/// `* BYE` is a temporary refusal; `* PREAUTH` is refused before STARTTLS, where it would
/// leave no chance to secure the session.
fn greeting(stream: &mut impl Read, server: &str, before_starttls: bool) -> Result<(), Error> {
    let line = read_line(stream).map_err(|e| io_error(server, "the greeting", &e))?;
    let upper = line.to_ascii_uppercase();
    if upper.starts_with("* OK") {
        return Ok(());
    }
    if upper.starts_with("* PREAUTH") && !before_starttls {
        return Ok(());
    }
    if upper.starts_with("* PREAUTH") {
        return Err(Error::new(
            ErrorKind::Auth,
            format!(
                "{server} logged the session in before STARTTLS (PREAUTH), so it cannot be \
                 secured; use security = \"tls\" if the server offers implicit TLS (993)"
            ),
        ));
    }
    if upper.starts_with("* BYE") {
        return Err(Error::new(
            ErrorKind::Temporary,
            format!("{server} refused the connection: {}", printable(&line)),
        ));
    }
    Err(Error::new(
        ErrorKind::Unavailable,
        format!(
            "{server} did not greet as an IMAP server: {}",
            printable(&line)
        ),
    ))
}

/// Sends STARTTLS and reads up to its tagged reply without reading ahead.
fn starttls(tcp: &mut TcpStream, server: &str) -> Result<(), Error> {
    tcp.write_all(b"S1 STARTTLS\r\n")
        .map_err(|e| io_error(server, "STARTTLS", &e))?;
    let reply = loop {
        let line = read_line(tcp).map_err(|e| io_error(server, "STARTTLS", &e))?;
        if line.starts_with("S1 ") {
            break line;
        }
        // Untagged lines (a late greeting, CAPABILITY) before the reply carry nothing needed.
    };
    if !reply.to_ascii_uppercase().starts_with("S1 OK") {
        return Err(Error::new(
            ErrorKind::Auth,
            format!(
                "{server} refused STARTTLS ({}), and security = \"starttls\" never falls back \
                 to plaintext; use security = \"tls\" if it is an implicit-TLS port (993)",
                printable(reply.trim_start_matches("S1 "))
            ),
        ));
    }
    // Anything already waiting was sent before the handshake, in plaintext.
    tcp.set_nonblocking(true)
        .map_err(|e| io_error(server, "STARTTLS", &e))?;
    let mut probe = [0u8; 1];
    let waiting = tcp.peek(&mut probe);
    tcp.set_nonblocking(false)
        .map_err(|e| io_error(server, "STARTTLS", &e))?;
    match waiting {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Ok(0) => Err(Error::new(
            ErrorKind::Temporary,
            format!("{server} closed the connection after STARTTLS"),
        )),
        Ok(_) => Err(Error::new(
            ErrorKind::Auth,
            format!(
                "{server} sent data after its STARTTLS reply and before TLS began: someone may \
                 be tampering with the connection; nothing was sent"
            ),
        )),
        Err(e) => Err(io_error(server, "STARTTLS", &e)),
    }
}

/// Completes the TLS handshake, so that certificate failures are reported as such.
fn handshake(
    config: std::sync::Arc<rustls::ClientConfig>,
    host: &str,
    mut tcp: TcpStream,
    server: &str,
) -> Result<StreamOwned<ClientConnection, TcpStream>, Error> {
    let mut conn = tls::connection(config, host)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)
            .map_err(|e| io_error(server, "the TLS handshake", &e))?;
    }
    Ok(StreamOwned::new(conn, tcp))
}

/// One line (up to LF), read a byte at a time, as text.
fn read_line(stream: &mut impl Read) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
        if line.len() > MAX_LINE {
            return Err(io::Error::other(format!(
                "a line longer than {MAX_LINE} bytes"
            )));
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// An I/O failure during `stage`, classified: a TLS failure is a trust problem (77, like
/// SMTP), anything else on the network is temporary.
pub(crate) fn io_error(server: &str, stage: &str, err: &io::Error) -> Error {
    if let Some(tls) = tls::tls_failure(err) {
        return Error::new(
            ErrorKind::Auth,
            format!(
                "TLS with {server} failed: {tls}; if the server uses a private CA, set ca_file \
                 = \"/path/to/ca.pem\" in the profile's [imap] table"
            ),
        );
    }
    let what = match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".to_owned(),
        io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        _ => err.to_string(),
    };
    Error::new(
        ErrorKind::Temporary,
        format!("{server}: {stage} failed: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// A scripted server: sends `greeting`, and answers the first line the client sends
    /// with `reply` (if any). Returns the port and what the client sent, when it is done.
    fn scripted(
        greeting: &'static str,
        reply: Option<&'static str>,
    ) -> (u16, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            tcp.write_all(greeting.as_bytes()).unwrap();
            let mut got = String::new();
            let mut reader = BufReader::new(tcp.try_clone().unwrap());
            if reader.read_line(&mut got).unwrap_or(0) > 0
                && let Some(reply) = reply
            {
                // One write: the injected bytes arrive with the reply.
                tcp.write_all(reply.as_bytes()).unwrap();
            }
            // Whatever else the client sends until it closes.
            let mut rest = String::new();
            let _ = reader.read_to_string(&mut rest);
            got + &rest
        });
        (port, handle)
    }

    fn account(port: u16, security: Security) -> Account {
        Account::on_loopback(port, security, Duration::from_secs(5))
    }

    /// Opens a STARTTLS account on a scripted server that must make rmail give up before
    /// TLS: the error (an authentication-class refusal) and what the client sent.
    fn refused_before_tls(greeting: &'static str, reply: Option<&'static str>) -> (Error, String) {
        let (port, server) = scripted(greeting, reply);
        let err = open(&account(port, Security::Starttls))
            .err()
            .expect("refused");
        assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
        (err, server.join().unwrap())
    }

    #[test]
    fn bytes_after_the_starttls_reply_abandon_the_connection() {
        let (err, server) = refused_before_tls(
            "* OK ready\r\n",
            Some("S1 OK Begin TLS now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"),
        );
        assert!(err.message().contains("before TLS began"), "{err}");
        assert_eq!(server, "S1 STARTTLS\r\n");
    }

    #[test]
    fn a_refused_starttls_never_falls_back_to_plaintext() {
        let (err, server) =
            refused_before_tls("* OK ready\r\n", Some("S1 BAD unknown command\r\n"));
        assert!(err.message().contains("never falls back"), "{err}");
        assert_eq!(server, "S1 STARTTLS\r\n");
    }

    #[test]
    fn preauth_before_starttls_is_refused() {
        let (_, server) = refused_before_tls("* PREAUTH welcome\r\n", None);
        assert_eq!(server, "");
    }

    #[test]
    fn a_bye_greeting_is_temporary_and_a_refused_connection_too() {
        let (port, _server) = scripted("* BYE too many connections\r\n", None);
        let err = open(&account(port, Security::None)).err().expect("refused");
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(err.message().contains("too many connections"), "{err}");

        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = open(&account(closed, Security::Tls))
            .err()
            .expect("refused");
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
    }

    #[test]
    fn what_a_server_may_send_is_bounded() {
        let mut limited = Limited {
            inner: io::repeat(b'x'),
            remaining: 10,
        };
        let mut buf = [0u8; 64];
        assert_eq!(limited.read(&mut buf).unwrap(), 10);
        assert!(limited.read(&mut buf).is_err());
    }
}
