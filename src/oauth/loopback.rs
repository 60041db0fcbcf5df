//! The redirect listener of the authorization-code flow (RFC 8252 §7.3): a one-request HTTP
//! server on 127.0.0.1 and a port the system picks, which receives the browser's redirect
//! with the authorization code and checks its `state`.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use oauth2::url::Url;

use super::printable;
use crate::error::{Error, ErrorKind, Result};

/// The most of a request that is read: the request line and headers of a redirect.
const MAX_REQUEST: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A bound loopback port waiting for the redirect.
pub(crate) struct Listener {
    listener: TcpListener,
    port: u16,
}

impl Listener {
    /// Binds 127.0.0.1 on a free port.
    pub(crate) fn bind() -> Result<Listener> {
        let fail = |e: std::io::Error| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot listen on 127.0.0.1 for the login redirect: {e}"),
            )
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(fail)?;
        let port = listener.local_addr().map_err(fail)?.port();
        listener.set_nonblocking(true).map_err(fail)?;
        Ok(Listener { listener, port })
    }

    /// The redirect URI to register in the authorization request.
    pub(crate) fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Waits up to `timeout` for the redirect to `/` and returns its authorization code.
    /// Requests for other paths (a browser's favicon) get 404 and the wait goes on.
    pub(crate) fn wait_for_code(&self, state: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if let Some(outcome) = handle(stream, state) {
                        return outcome;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(Error::new(
                            ErrorKind::Temporary,
                            format!(
                                "no login came back within {} s; run `rmail login` again",
                                timeout.as_secs()
                            ),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!("the login redirect listener failed: {e}"),
                    ));
                }
            }
        }
    }
}

/// Answers one browser request; `Some` when it was the redirect (good or bad).
fn handle(mut stream: TcpStream, state: &str) -> Option<Result<String>> {
    let target = read_target(&mut stream)?;
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&mut stream, "400 Bad Request", "rmail: not a redirect.");
        return None;
    };
    if url.path() != "/" {
        respond(&mut stream, "404 Not Found", "rmail: nothing here.");
        return None;
    }
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state) {
        respond(
            &mut stream,
            "400 Bad Request",
            "rmail: this redirect does not belong to the login in progress.",
        );
        return Some(Err(Error::new(
            ErrorKind::Auth,
            "the login redirect carried the wrong state (a stale browser tab, or a forged \
             redirect): its code was not used; run `rmail login` again",
        )));
    }
    if let Some(error) = param("error") {
        respond(&mut stream, "200 OK", "rmail: the login was refused.");
        let description = param("error_description")
            .map(|d| format!(" ({})", printable(&d)))
            .unwrap_or_default();
        return Some(Err(Error::new(
            ErrorKind::Auth,
            format!(
                "the authorization server refused the login: {}{description}",
                printable(&error)
            ),
        )));
    }
    let Some(code) = param("code") else {
        respond(
            &mut stream,
            "400 Bad Request",
            "rmail: the redirect has no code.",
        );
        return Some(Err(Error::new(
            ErrorKind::Auth,
            "the login redirect carried no authorization code",
        )));
    };
    respond(
        &mut stream,
        "200 OK",
        "rmail: you are logged in. You can close this tab.",
    );
    Some(Ok(code))
}

/// The request target of `GET TARGET HTTP/1.x`, read with a bound on time and size.
fn read_target(stream: &mut TcpStream) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(READ_TIMEOUT)).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_REQUEST {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut words = line.split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Some(target.to_owned()),
        _ => {
            respond(stream, "400 Bad Request", "rmail: not a redirect.");
            None
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!("<!doctype html><meta charset=utf-8><title>rmail</title><p>{text}</p>\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\n\r\n{body}",
        body.len()
    );
    // The browser going away early changes nothing for the login.
    let _ = stream.write_all(response.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(listener: &Listener, query: &str) -> std::thread::JoinHandle<String> {
        let port = listener.port;
        let query = query.to_owned();
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut ignored = String::new();
            s.read_to_string(&mut ignored).unwrap();
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET /?{query} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            let mut page = String::new();
            s.read_to_string(&mut page).unwrap();
            page
        })
    }

    #[test]
    fn takes_the_code_when_state_matches() {
        let listener = Listener::bind().unwrap();
        assert!(listener.redirect_uri().starts_with("http://127.0.0.1:"));
        let browser = redirect(&listener, "code=abc%2B1&state=s1&iss=x");
        let code = listener
            .wait_for_code("s1", Duration::from_secs(10))
            .unwrap();
        assert_eq!(code, "abc+1");
        assert!(browser.join().unwrap().contains("logged in"));
    }

    #[test]
    fn refuses_a_wrong_state_and_reports_errors() {
        let listener = Listener::bind().unwrap();
        let browser = redirect(&listener, "code=abc&state=other");
        let err = listener
            .wait_for_code("s1", Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert!(err.message().contains("wrong state"), "{err}");
        browser.join().unwrap();

        let browser = redirect(
            &listener,
            "error=access_denied&error_description=no%1b[31m&state=s1",
        );
        let err = listener
            .wait_for_code("s1", Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(
            err.message(),
            "the authorization server refused the login: access_denied (no[31m)"
        );
        browser.join().unwrap();
    }

    #[test]
    fn gives_up_after_the_timeout() {
        let listener = Listener::bind().unwrap();
        let err = listener
            .wait_for_code("s1", Duration::from_millis(100))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Temporary);
    }
}
