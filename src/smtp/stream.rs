//! The byte stream under a session: TCP, then TLS (implicit or after STARTTLS) with rustls.
//!
//! lettre's `NetworkStream` is not public in lettre 0.11, and its `SmtpConnection` hides
//! what it has buffered, so rmail owns the stream: a `TcpStream` with `TCP_NODELAY` (a
//! command and its data never wait for a delayed ACK), wrapped in a rustls
//! `StreamOwned` once TLS starts. The handshake itself runs on the first read or write, so
//! it is bounded by the same per-reply deadline as everything else.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::config::profile::Endpoint;

/// A connection to the server, plain or encrypted.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    /// Connects to the first address of the endpoint that answers within its timeout.
    pub(crate) fn connect(endpoint: &Endpoint) -> io::Result<Stream> {
        let tcp = crate::tcp::connect(endpoint)?;
        tcp.set_nodelay(true)?;
        Ok(Stream::Plain(tcp))
    }

    /// Starts TLS on a plain stream (implicit TLS right after connecting, or after the
    /// `220` to STARTTLS). The handshake happens on the next read or write.
    pub(crate) fn into_tls(self, config: Arc<ClientConfig>, host: &str) -> io::Result<Stream> {
        let tcp = match self {
            Stream::Plain(tcp) => tcp,
            tls @ Stream::Tls(_) => return Ok(tls),
        };
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("'{host}' is not a valid name for TLS"),
            )
        })?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref(),
        }
    }

    pub(crate) fn is_encrypted(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The server's certificates (DER, leaf first) once the handshake is done.
    pub(crate) fn peer_certificates(&self) -> Vec<Vec<u8>> {
        match self {
            Stream::Plain(_) => Vec::new(),
            Stream::Tls(tls) => tls
                .conn
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.to_vec()).collect())
                .unwrap_or_default(),
        }
    }

    pub(crate) fn set_read_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.tcp()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
    }

    pub(crate) fn set_write_timeout(&self, timeout: Duration) -> io::Result<()> {
        self.tcp()
            .set_write_timeout(Some(timeout.max(Duration::from_millis(1))))
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(tcp) => tcp.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(tcp) => tcp.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}
