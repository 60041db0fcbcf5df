//! TCP to a server, for SMTP and IMAP alike: the first of the host's addresses that answers
//! within the endpoint's timeout.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};

use crate::config::profile::Endpoint;

/// Connects to the first address of `endpoint.host` that answers; the error is the last
/// address's (or "no address" when the name has none).
pub(crate) fn connect(endpoint: &Endpoint) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in (endpoint.host.as_str(), endpoint.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, endpoint.timeout) {
            Ok(tcp) => return Ok(tcp),
            Err(err) => last = err,
        }
    }
    Err(last)
}
