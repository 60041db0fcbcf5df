//! Profile → an SMTP session, with lettre doing the protocol work.
//!
//! rmail drives lettre's `SmtpConnection` itself rather than its `SmtpTransport` so that it
//! can tell the stages of a delivery apart (a 5xx on RCPT is a bad address, a 5xx on DATA is
//! a rejected message), log the conversation with AUTH redacted, and reuse one connection for
//! many messages. Every failure comes back as an [`Error`] whose kind says whether it is
//! temporary (network, 4xx), permanent (5xx), or a login / certificate problem.

use std::borrow::Cow;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;

use crate::config::file::{AuthMechanism, Security};
use crate::config::profile::Profile;
use crate::config::secret::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::classify::{Stage, classify};
use crate::smtp::tls::{fingerprint, tls_parameters};

/// How a connection should be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ConnectOptions {
    /// Print the SMTP conversation on stderr.
    pub(crate) verbose: bool,
    /// Only for `rmail check` after a failed handshake: complete it anyway to show the
    /// certificate. Never used for a connection that logs in or sends.
    pub(crate) inspect_untrusted: bool,
    /// Refuse TLS below 1.3 (lets `rmail check` tell which version the server speaks).
    pub(crate) tls13_only: bool,
}

/// An open, authenticated SMTP session that can send any number of messages.
pub(crate) struct Session {
    conn: SmtpConnection,
    verbose: bool,
    server: String,
    /// The server takes MAIL FROM and the RCPT TOs in one write (RFC 2920 PIPELINING).
    pipelining: bool,
}

/// What a server told `rmail check` about itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerReport {
    /// The EHLO reply lines after TLS: the server's name and every extension.
    pub(crate) ehlo: Vec<String>,
    /// DER certificates, leaf first, when the connection is encrypted.
    pub(crate) certificates: Vec<Vec<u8>>,
    pub(crate) encrypted: bool,
}

impl Session {
    /// Connects, secures the connection as the profile demands, and logs in when the
    /// profile has a username.
    pub(crate) fn open(
        profile: &Profile,
        secret: Option<&Secret>,
        options: ConnectOptions,
    ) -> Result<Session> {
        let mut session = Session::connect(profile, options)?;
        session.login(profile, secret)?;
        Ok(session)
    }

    /// Connects and secures the connection, without logging in.
    pub(crate) fn connect(profile: &Profile, options: ConnectOptions) -> Result<Session> {
        let server = format!("{}:{}", profile.host, profile.port);
        let fail = |stage, err| classify(&server, stage, err);
        let client_id = client_id(profile);
        let tls = match profile.security {
            Security::None => None,
            Security::Tls | Security::Starttls => Some(tls_parameters(profile, options)?),
        };
        let implicit = if profile.security == Security::Tls {
            tls.as_ref()
        } else {
            None
        };
        if options.verbose {
            eprintln!(
                "smtp: connecting to {server} ({})",
                match profile.security {
                    Security::Tls => "implicit TLS",
                    Security::Starttls => "STARTTLS required",
                    Security::None => "no TLS",
                }
            );
        }
        let addr = (profile.host.as_str(), profile.port);
        let conn = SmtpConnection::connect(addr, Some(profile.timeout), &client_id, implicit, None)
            .map_err(|e| fail(Stage::Connect, e))?;
        let mut session = Session {
            conn,
            verbose: options.verbose,
            server,
            pipelining: false,
        };
        session.trace_in(&format!("EHLO reply: {}", session.conn.server_info()));

        if profile.security == Security::Starttls {
            if !session.conn.can_starttls() {
                session.conn.abort();
                return Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "{} does not offer STARTTLS, and security = \"starttls\" never falls back \
                         to plaintext; use security = \"tls\" if it is an implicit-TLS port (465), \
                         or security = \"none\" only for a trusted local relay",
                        session.server
                    ),
                ));
            }
            session.trace_out("STARTTLS");
            if let Some(tls) = &tls {
                session
                    .conn
                    .starttls(tls, &client_id)
                    .map_err(|e| classify(&session.server, Stage::Starttls, e))?;
            }
            session.trace_in(&format!("EHLO reply: {}", session.conn.server_info()));
        }
        if let Some(pin) = &profile.tls_fingerprint {
            session.check_pin(pin)?;
        }
        Ok(session)
    }

    fn check_pin(&mut self, pin: &str) -> Result<()> {
        let actual = self
            .conn
            .peer_certificate()
            .map(|der| fingerprint(&der))
            .unwrap_or_default();
        if actual != pin {
            self.conn.abort();
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the certificate of {} does not match tls_fingerprint (it has {}); \
                     if the server's certificate was renewed, check it and update the pin",
                    self.server,
                    if actual.is_empty() { "none" } else { &actual }
                ),
            ));
        }
        Ok(())
    }

    /// Logs in when the profile has a username; does nothing otherwise.
    pub(crate) fn login(&mut self, profile: &Profile, secret: Option<&Secret>) -> Result<()> {
        let Some(username) = &profile.username else {
            return Ok(());
        };
        let Some(secret) = secret else {
            return Err(Error::config(format!(
                "profile '{}' has a username but no password; set password_env, password_command or password",
                profile.name
            )));
        };
        let mechanisms: &[Mechanism] = match profile.auth {
            Some(AuthMechanism::Plain) => &[Mechanism::Plain],
            Some(AuthMechanism::Login) => &[Mechanism::Login],
            Some(AuthMechanism::Xoauth2) => &[Mechanism::Xoauth2],
            None => &[Mechanism::Plain, Mechanism::Login],
        };
        let Some(mechanism) = self.conn.server_info().get_auth_mechanism(mechanisms) else {
            let offered = if self.conn.is_encrypted() {
                ""
            } else {
                " (many servers offer AUTH only over TLS: check security)"
            };
            self.conn.abort();
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "{} offers no AUTH mechanism rmail can use ({}){offered}",
                    self.server,
                    mechanisms
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        self.trace_out(&format!("AUTH {mechanism} (credentials redacted)"));
        let credentials = Credentials::new(username.clone(), secret.expose().to_string());
        match self.conn.auth(&[mechanism], &credentials) {
            Ok(response) => {
                self.trace_in(&reply_text(&response));
                Ok(())
            }
            Err(err) => {
                // The reply may echo the credential: redact it before it is kept anywhere.
                let err = classify(&self.server, Stage::Auth, err);
                let clean = |text: &str| super::redact::auth_reply(text, secret.expose());
                let redacted = Error::new(err.kind(), clean(err.message()));
                Err(match err.reply() {
                    Some(reply) => redacted.with_reply(clean(reply)),
                    None => redacted,
                })
            }
        }
    }

    /// Sends one message: MAIL FROM, every RCPT TO, DATA. If any recipient is refused the
    /// transaction is reset and nothing is sent, so a message never reaches only some of
    /// its recipients. Returns the server's reply to the message data.
    pub(crate) fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String> {
        self.begin(envelope, !message.is_ascii())?;
        self.command(Stage::Data, Data)?;
        self.trace_out(&format!("({} bytes of message data)", message.len()));
        // lettre ends the data with CRLF "." CRLF even when the message already ends with a
        // line break; without this the server would receive one empty line more than was
        // composed (and than --eml wrote).
        let data = message.strip_suffix(b"\r\n").unwrap_or(message);
        let response = match std::str::from_utf8(data) {
            // lettre writes the data and the final "." in two writes without TCP_NODELAY,
            // and the second waits for the server's delayed ACK: 40 ms per message (the stall
            // that makes msmtp slow). One write of the whole stuffed payload avoids it; large
            // or non-UTF-8 messages go in chunks, where 40 ms does not matter.
            Ok(text) if text.len() <= SINGLE_WRITE_LIMIT => self.conn.command(dot_stuffed(text)),
            _ => self.conn.message_iter(data.chunks(CHUNK)),
        }
        .map_err(|e| classify(&self.server, Stage::Data, e))?;
        let reply = reply_text(&response);
        self.trace_in(&reply);
        Ok(reply)
    }

    /// Sends a rendered message, streaming the encoding of its large files (see
    /// [`MessageData`]) so that it is never in memory whole.
    pub(crate) fn send_data(
        &mut self,
        envelope: &Envelope,
        message: &MessageData,
    ) -> Result<String> {
        if let Some(bytes) = message.as_bytes() {
            return self.send(envelope, bytes);
        }
        // Rendered MIME is 7-bit: every part is encoded.
        self.begin(envelope, false)?;
        self.command(Stage::Data, Data)?;
        self.trace_out(&format!(
            "({} bytes of message data, streamed)",
            message.len()
        ));
        let mut chunks = message.chunks().peekable();
        // As in `send`: the final CRLF is lettre's to write.
        let chunks = std::iter::from_fn(move || {
            let chunk = chunks.next()?;
            if chunks.peek().is_some() {
                return Some(chunk);
            }
            Some(match chunk {
                Cow::Borrowed(b) => Cow::Borrowed(b.strip_suffix(b"\r\n").unwrap_or(b)),
                Cow::Owned(mut b) => {
                    if b.ends_with(b"\r\n") {
                        b.truncate(b.len() - 2);
                    }
                    Cow::Owned(b)
                }
            })
        });
        let response = self
            .conn
            .message_iter(chunks)
            .map_err(|e| classify(&self.server, Stage::Data, e))?;
        let reply = reply_text(&response);
        self.trace_in(&reply);
        Ok(reply)
    }

    /// MAIL FROM and every RCPT TO. If any recipient is refused the transaction is reset,
    /// so a message never reaches only some of its recipients.
    fn begin(&mut self, envelope: &Envelope, eight_bit: bool) -> Result<()> {
        let from = parse_address(&envelope.from, "sender")?;
        let recipients = envelope
            .recipients
            .iter()
            .map(|r| parse_address(r, "recipient"))
            .collect::<Result<Vec<_>>>()?;

        let info = self.conn.server_info();
        let mut params = Vec::new();
        let non_ascii_address =
            !envelope.from.is_ascii() || envelope.recipients.iter().any(|r| !r.is_ascii());
        if non_ascii_address {
            if !info.supports_feature(Extension::SmtpUtfEight) {
                return Err(Error::data(format!(
                    "{} does not support SMTPUTF8, so it cannot take the non-ASCII address in {}",
                    self.server,
                    std::iter::once(&envelope.from)
                        .chain(&envelope.recipients)
                        .find(|a| !a.is_ascii())
                        .map(String::as_str)
                        .unwrap_or("")
                )));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if eight_bit && info.supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }

        let mail = Mail::new(Some(from), params);
        if self.pipelining {
            return self.begin_pipelined(mail, recipients);
        }
        self.command(Stage::MailFrom, mail)?;
        for rcpt in recipients {
            let address = rcpt.to_string();
            if let Err(err) = self.command(Stage::RcptTo, Rcpt::new(rcpt, vec![])) {
                self.reset();
                // Servers often say only "User unknown": name the address they refused.
                return Err(err.context(&format!("recipient <{address}>")));
            }
        }
        Ok(())
    }

    /// MAIL FROM and every RCPT TO in one write, then their replies in order. DATA is
    /// still sent on its own, after the replies: a refused recipient then resets the
    /// transaction instead of letting the others get the message.
    fn begin_pipelined(&mut self, mail: Mail, recipients: Vec<Address>) -> Result<()> {
        let addresses: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let mut batch = mail.to_string();
        for rcpt in recipients {
            batch.push_str(&Rcpt::new(rcpt, vec![]).to_string());
        }
        for line in batch.lines() {
            self.trace_out(line);
        }
        let mut first_error = None;
        let mut replies = vec![self.conn.command(batch)];
        for _ in &addresses {
            replies.push(self.conn.read_response());
        }
        for (i, reply) in replies.into_iter().enumerate() {
            let stage = if i == 0 {
                Stage::MailFrom
            } else {
                Stage::RcptTo
            };
            match reply {
                Ok(response) => self.trace_in(&reply_text(&response)),
                Err(err) => {
                    let err = classify(&self.server, stage, err);
                    if let Some(reply) = err.reply() {
                        self.trace_in(reply);
                    }
                    let err = if i == 0 {
                        err
                    } else {
                        err.context(&format!("recipient <{}>", addresses[i - 1]))
                    };
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            None => Ok(()),
            Some(err) => {
                if !self.conn.has_broken() {
                    self.reset();
                }
                Err(err)
            }
        }
    }

    /// Asks the server again what it supports (EHLO) and pipelines MAIL FROM and RCPT TO
    /// from then on if it offers PIPELINING. Worth the extra round trip for a session that
    /// sends many messages (a merge); lettre keeps only the extensions it knows itself.
    pub(crate) fn use_pipelining(&mut self, profile: &Profile) -> Result<bool> {
        let response = self
            .conn
            .command(Ehlo::new(client_id(profile)))
            .map_err(|e| classify(&self.server, Stage::Connect, e))?;
        self.pipelining = response
            .message()
            .any(|line| line.split_whitespace().next() == Some("PIPELINING"));
        Ok(self.pipelining)
    }

    /// What `rmail check` reports: the full EHLO reply and the certificate chain.
    pub(crate) fn report(&mut self, client_id: &ClientId) -> Result<ServerReport> {
        let response = self
            .conn
            .command(Ehlo::new(client_id.clone()))
            .map_err(|e| classify(&self.server, Stage::Connect, e))?;
        let encrypted = self.conn.is_encrypted();
        Ok(ServerReport {
            ehlo: response.message().map(str::to_string).collect(),
            certificates: if encrypted {
                self.conn.certificate_chain().unwrap_or_default()
            } else {
                Vec::new()
            },
            encrypted,
        })
    }

    /// Ends the session politely; errors no longer matter at this point.
    pub(crate) fn quit(mut self) {
        self.trace_out("QUIT");
        let _ = self.conn.quit();
    }

    fn command<C: std::fmt::Display>(&mut self, stage: Stage, command: C) -> Result<Response> {
        let line = command.to_string();
        self.trace_out(line.trim_end());
        match self.conn.command(line) {
            Ok(response) => {
                self.trace_in(&reply_text(&response));
                Ok(response)
            }
            Err(err) => {
                let err = classify(&self.server, stage, err);
                if let Some(reply) = err.reply() {
                    self.trace_in(reply);
                }
                Err(err)
            }
        }
    }

    /// RSET after a refused recipient, so the connection can carry the next message.
    fn reset(&mut self) {
        self.trace_out("RSET");
        if self.conn.command(Rset).is_err() {
            self.conn.abort();
        }
    }

    /// True when the server or network broke the connection and it cannot be reused.
    pub(crate) fn is_broken(&self) -> bool {
        self.conn.has_broken()
    }

    fn trace_out(&self, line: &str) {
        if self.verbose {
            eprintln!("smtp: -> {line}");
        }
    }

    fn trace_in(&self, line: &str) {
        if self.verbose {
            eprintln!("smtp: <- {line}");
        }
    }
}

/// Bytes handed to lettre at a time for large messages (it copies each for dot-stuffing).
const CHUNK: usize = 64 << 10;

/// Messages up to this size are sent in one write (see [`Session::send`]).
const SINGLE_WRITE_LIMIT: usize = 4 << 20;

/// Message data as it goes on the wire: a '.' at the start of a line doubled (RFC 5321
/// 4.5.2), then the CRLF "." CRLF terminator. `data` has no final line break.
fn dot_stuffed(data: &str) -> String {
    let mut out = String::with_capacity(data.len() + data.len() / 512 + 8);
    let mut line_start = true;
    // Splitting on a char searches with memchr; this runs once per byte sent.
    for piece in data.split_inclusive('\n') {
        if line_start && piece.starts_with('.') {
            out.push('.');
        }
        out.push_str(piece);
        line_start = piece.ends_with("\r\n");
    }
    out.push_str("\r\n.\r\n");
    out
}

fn parse_address(text: &str, what: &str) -> Result<Address> {
    text.parse::<Address>()
        .map_err(|e| Error::data(format!("invalid {what} address '{text}': {e}")))
}

fn reply_text(response: &Response) -> String {
    let code: u16 = response.code().into();
    let text = response.message().collect::<Vec<_>>().join(" ");
    format!("{code} {text}")
}

/// The client name sent in EHLO for this profile.
pub(crate) fn client_id(profile: &Profile) -> ClientId {
    match &profile.hello_name {
        Some(name) => ClientId::Domain(name.clone()),
        None => ClientId::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::dot_stuffed;

    #[test]
    fn dot_stuffing() {
        assert_eq!(
            dot_stuffed(".a\r\nb\r\n.\r\n..c\r\nd.\n.e"),
            "..a\r\nb\r\n..\r\n...c\r\nd.\n.e\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(""), "\r\n.\r\n");
    }
}
