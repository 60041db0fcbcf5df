//! Profile → an SMTP session: rmail's own dialogue loop.
//!
//! lettre supplies the command syntax (`Mail`, `Rcpt`, `Ehlo`), the AUTH mechanisms'
//! encoding (`Auth`, `Mechanism`) and address parsing; rmail drives the dialogue itself
//! (see `wire.rs` for why it owns the bytes), so that:
//! - after `220` to STARTTLS, any byte already received aborts the session as a TLS failure,
//!   and only what the server says under TLS is used afterwards;
//! - each reply (and the connect) is bounded by `timeout_secs`, in length and in time;
//! - only `354` lets the message data go, only `235` is a login, anything else is the
//!   server's answer to that command (see `classify.rs`);
//! - `SIZE=` goes on MAIL FROM, and a message over the server's limit is refused before
//!   MAIL FROM;
//! - nothing illegal reaches the wire (`data.rs`), and non-ASCII addresses need SMTPUTF8
//!   (`utf8.rs`);
//! - every session ends with QUIT while the server is still listening, whatever failed,
//!   waiting at most [`QUIT_GRACE`] for its answer.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::{Auth, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use rustls::ClientConfig;

use crate::config::profile::Profile;
use crate::config::profile::{AuthMechanism, Security};
use crate::config::secret::Secret;
use crate::error::{Error, ErrorKind, Result};
use crate::message::part_data;
use crate::message::spec::Envelope;
use crate::mime::data::MessageData;
use crate::smtp::classify::{Stage, reply_error};
use crate::smtp::data::{self, Stuffer};
use crate::smtp::stream::Stream;
use crate::smtp::tls::{self, TrustOptions, fingerprint};
use crate::smtp::utf8;
use crate::smtp::wire::{Reply, Wire, WireError};
use crate::trace;

/// How long QUIT waits for the server's `221`: the work is done (or has failed) already.
pub(crate) const QUIT_GRACE: Duration = Duration::from_secs(1);

/// Messages up to this size are stuffed into one buffer and written in one go.
const SINGLE_WRITE_LIMIT: usize = 4 << 20;

/// Bytes of stuffed message data per write when a message is streamed.
const UPLOAD_WRITE: usize = 256 << 10;

/// How many AUTH challenges (334) rmail answers before giving up.
const MAX_CHALLENGES: usize = 5;

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

/// What a server told `rmail check` about itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerReport {
    /// The EHLO reply lines after TLS: the server's name and every extension.
    pub(crate) ehlo: Vec<String>,
    /// DER certificates, leaf first, when the connection is encrypted.
    pub(crate) certificates: Vec<Vec<u8>>,
    pub(crate) encrypted: bool,
}

/// What the server offers, from its last EHLO reply.
#[derive(Debug, Clone, Default)]
struct Capabilities {
    lines: Vec<String>,
    starttls: bool,
    pipelining: bool,
    smtputf8: bool,
    eight_bit: bool,
    /// `SIZE n` with n > 0: the largest message the server takes.
    size: Option<u64>,
    auth: Vec<String>,
}

impl Capabilities {
    fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities {
            lines: reply.lines.clone(),
            ..Capabilities::default()
        };
        for line in reply.lines.iter().skip(1) {
            let mut words = line.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            match keyword.as_str() {
                "STARTTLS" => caps.starttls = true,
                "PIPELINING" => caps.pipelining = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "8BITMIME" => caps.eight_bit = true,
                "SIZE" => caps.size = words.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0),
                "AUTH" => caps.auth.extend(words.map(|w| w.to_ascii_uppercase())),
                _ if keyword.starts_with("AUTH=") => caps.auth.extend(
                    std::iter::once(&keyword["AUTH=".len()..])
                        .chain(words)
                        .map(|w| w.to_ascii_uppercase()),
                ),
                _ => {}
            }
        }
        caps
    }

    fn offers(&self, mechanism: Mechanism) -> bool {
        let name = mechanism.to_string();
        self.auth.contains(&name)
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In step with the server: a command may follow (QUIT at least).
    Ready,
    /// Out of step or gone (timeout, malformed or oversized reply, network failure, an
    /// upload cut short): only closing is left.
    Broken,
    /// QUIT was sent.
    Closed,
}

/// An open, authenticated SMTP session that can send any number of messages.
pub(crate) struct Session {
    wire: Wire,
    state: State,
    timeout: Duration,
    verbose: bool,
    server: String,
    caps: Capabilities,
    /// The secret while AUTH runs: the trace shows replies with it (and anything that looks
    /// like its encoding) redacted.
    redact: Option<String>,
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
        let endpoint = &profile.server;
        let server = endpoint.to_string();
        let tls = match endpoint.security {
            Security::None => None,
            Security::Tls | Security::Starttls => Some(tls_config(profile, options)?),
        };
        if options.verbose {
            let how = match endpoint.security {
                Security::Tls => "implicit TLS",
                Security::Starttls => "STARTTLS required",
                Security::None => "no TLS",
            };
            trace::verbose(&format!("smtp: connecting to {server} ({how})"));
        }
        let mut stream = Stream::connect(endpoint).map_err(|e| connect_error(&server, &e))?;
        if let (Security::Tls, Some(config)) = (endpoint.security, &tls) {
            stream = stream
                .into_tls(Arc::clone(config), &endpoint.host)
                .map_err(|e| Error::config(format!("TLS with {server}: {e}")))?;
        }
        let mut session = Session {
            wire: Wire::new(stream),
            state: State::Ready,
            timeout: endpoint.timeout,
            verbose: options.verbose,
            server,
            caps: Capabilities::default(),
            redact: None,
        };
        let hello = client_id(profile);
        session.expect(Stage::Greeting, None)?;
        session.ehlo(&hello)?;

        if endpoint.security == Security::Starttls {
            if !session.caps.starttls {
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
            session.expect(Stage::Starttls, Some("STARTTLS\r\n"))?;
            session.start_tls(tls.as_ref(), &endpoint.host)?;
            session.ehlo(&hello)?;
        }
        if let Some(pin) = &profile.tls_fingerprint {
            session.check_pin(pin)?;
        }
        Ok(session)
    }

    /// After the `220` to STARTTLS: refuse anything already received, then start TLS and
    /// forget what was learned in plaintext (RFC 3207 §6).
    fn start_tls(&mut self, tls: Option<&Arc<ClientConfig>>, host: &str) -> Result<()> {
        let early = self.wire.pending();
        if early > 0 {
            self.state = State::Broken;
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "TLS with {} failed: {early} bytes arrived after the 220 to STARTTLS, before \
                     TLS began (a STARTTLS response injection, by the server or someone on the \
                     way); the connection was abandoned and nothing was sent",
                    self.server
                ),
            )
            .with_source(StarttlsInjection));
        }
        let Some(config) = tls else {
            return Err(Error::config("STARTTLS without a TLS configuration"));
        };
        self.caps = Capabilities::default();
        self.wire.start_tls(Arc::clone(config), host).map_err(|e| {
            self.state = State::Broken;
            Error::config(format!("TLS with {}: {e}", self.server))
        })
    }

    fn ehlo(&mut self, hello: &ClientId) -> Result<()> {
        let reply = self.expect(Stage::Ehlo, Some(&Ehlo::new(hello.clone()).to_string()))?;
        self.caps = Capabilities::from_ehlo(&reply);
        Ok(())
    }

    fn check_pin(&mut self, pin: &str) -> Result<()> {
        let actual = self
            .wire
            .peer_certificates()
            .first()
            .map(|der| fingerprint(der))
            .unwrap_or_default();
        if actual != pin {
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

    /// Logs in when the profile has a username; does nothing otherwise. Only `235` is
    /// success (RFC 4954).
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
        let Some(mechanism) = mechanisms.iter().copied().find(|m| self.caps.offers(*m)) else {
            let hint = if self.wire.is_encrypted() {
                ""
            } else {
                " (many servers offer AUTH only over TLS: check security)"
            };
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "{} offers no AUTH mechanism rmail can use ({}){hint}",
                    self.server,
                    mechanisms
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        // A reply during AUTH may echo the credential: while it runs, the -v trace redacts
        // it, and so does the error that comes out of it (it goes to stderr, the log and
        // the outbox).
        self.redact = Some(secret.expose().to_string());
        let result = self.authenticate(username, secret, mechanism);
        self.redact = None;
        result.map_err(|err| {
            let clean = |text: &str| super::redact::auth_reply(text, secret.expose());
            let redacted = Error::new(err.kind(), clean(err.message()));
            match err.reply() {
                Some(reply) => redacted.with_reply(clean(reply)),
                None => redacted,
            }
        })
    }

    /// The AUTH exchange itself: the first line, the answers to 334 challenges, the result.
    fn authenticate(
        &mut self,
        username: &str,
        secret: &Secret,
        mechanism: Mechanism,
    ) -> Result<()> {
        let credentials = Credentials::new(username.to_string(), secret.expose().to_string());
        let auth_error = |server: &str, e: lettre::transport::smtp::Error| {
            Error::new(ErrorKind::Auth, format!("AUTH with {server} failed: {e}"))
        };
        let first = Auth::new(mechanism, credentials.clone(), None)
            .map_err(|e| auth_error(&self.server, e))?;
        self.trace_out(&format!("AUTH {mechanism} (credentials redacted)"));
        let mut reply = self.exchange(Stage::Auth, first.to_string().as_bytes())?;
        for _ in 0..MAX_CHALLENGES {
            if reply.code != 334 {
                break;
            }
            let answer = if mechanism == Mechanism::Xoauth2 {
                // A 334 to XOAUTH2 carries the error as JSON; an empty line gets the 535.
                "\r\n".to_owned()
            } else {
                let challenge: Response = format!("{}\r\n", reply_wire(&reply))
                    .parse()
                    .map_err(|e| auth_error(&self.server, e))?;
                Auth::new_from_response(mechanism, credentials.clone(), &challenge)
                    .map_err(|e| auth_error(&self.server, e))?
                    .to_string()
            };
            self.trace_out("(AUTH response redacted)");
            reply = self.exchange(Stage::Auth, answer.as_bytes())?;
        }
        self.accept(Stage::Auth, reply).map(drop)
    }

    /// Sends one message: MAIL FROM, every RCPT TO, DATA. If any recipient is refused the
    /// transaction is reset and nothing is sent, so a message never reaches only some of
    /// its recipients. Returns the server's reply to the message data.
    pub(crate) fn send(&mut self, envelope: &Envelope, message: &[u8]) -> Result<String> {
        let data_error = |e| {
            Error::data(format!(
                "the message cannot go on the wire as it is: {e}; nothing was sent"
            ))
        };
        // Checked (and stuffed) before MAIL FROM: a message that cannot go is not begun.
        let stuffed = if message.len() <= SINGLE_WRITE_LIMIT {
            Some(data::stuffed(message).map_err(data_error)?)
        } else {
            data::check(message).map_err(data_error)?;
            None
        };
        self.begin(envelope, message, message.len() as u64)?;
        self.trace_out(&format!("({} bytes of message data)", message.len()));
        match stuffed {
            Some(bytes) => self.write(&bytes)?,
            None => self.upload(message.chunks(UPLOAD_WRITE).map(|c| Ok(Cow::Borrowed(c))))?,
        }
        self.finish()
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
        self.begin(envelope, message.head(), message.len())?;
        self.trace_out(&format!(
            "({} bytes of message data, streamed)",
            message.len()
        ));
        self.upload(message.chunks())?;
        self.finish()
    }

    /// The reply to the message data.
    fn finish(&mut self) -> Result<String> {
        let reply = self.expect(Stage::Message, None)?;
        Ok(reply.text())
    }

    /// Streams message data after `354`, dot-stuffed and checked chunk by chunk. An
    /// illegal byte, or a chunk that cannot be read (an attachment that changed since it
    /// was opened), cuts the connection before the final dot, so nothing is delivered.
    fn upload<'a>(
        &mut self,
        chunks: impl Iterator<Item = std::io::Result<Cow<'a, [u8]>>>,
    ) -> Result<()> {
        let mut stuffer = Stuffer::default();
        let mut out = Vec::with_capacity(UPLOAD_WRITE + (8 << 10));
        let cut = |session: &mut Session, why: String| {
            session.state = State::Broken;
            session.wire.shutdown();
            format!("{why}; the upload was cut off before its end, so nothing was delivered")
        };
        for chunk in chunks {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    let err = part_data::input_error(&e)
                        .unwrap_or_else(|| Error::new(ErrorKind::NoInput, e.to_string()));
                    let message = cut(self, err.message().to_string());
                    return Err(Error::new(err.kind(), message));
                }
            };
            if let Err(e) = stuffer.push(&chunk, &mut out) {
                let why = format!("the message cannot go on the wire as it is: {e}");
                return Err(Error::data(cut(self, why)));
            }
            if out.len() >= UPLOAD_WRITE {
                self.write(&out)?;
                out.clear();
            }
        }
        if let Err(e) = stuffer.finish(&mut out) {
            let why = format!("the message cannot go on the wire as it is: {e}");
            return Err(Error::data(cut(self, why)));
        }
        self.write(&out)
    }

    /// MAIL FROM, every RCPT TO and DATA, after the checks that need no server: SMTPUTF8
    /// and SIZE; on success the server waits for the message data (354). `head` holds at
    /// least the message's header section.
    fn begin(&mut self, envelope: &Envelope, head: &[u8], size: u64) -> Result<()> {
        let (from, from_utf8) = utf8::envelope_address(&envelope.from)?;
        let mut needs_utf8 = from_utf8.then(|| envelope.from.clone());
        let mut recipients = Vec::with_capacity(envelope.recipients.len());
        for r in &envelope.recipients {
            let (address, utf8) = utf8::envelope_address(r)?;
            if utf8 && needs_utf8.is_none() {
                needs_utf8 = Some(r.clone());
            }
            recipients.push(address);
        }
        if needs_utf8.is_none() {
            needs_utf8 = utf8::non_ascii_header_address(head);
        }
        let mut params = Vec::new();
        if let Some(address) = &needs_utf8 {
            if !self.caps.smtputf8 {
                return Err(Error::data(format!(
                    "{} does not offer SMTPUTF8, which the non-ASCII address {address} needs; \
                     nothing was sent (use an ASCII address, or a server that offers SMTPUTF8)",
                    self.server
                )));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        if let Some(limit) = self.caps.size {
            if size > limit {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the message is {size} bytes and {} takes at most {limit} (its SIZE); \
                         nothing was sent",
                        self.server
                    ),
                ));
            }
            params.push(MailParameter::Size(size as usize));
        }
        if !head.is_ascii() && self.caps.eight_bit {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let from = parse_address(&from, "sender")?;
        let recipients = recipients
            .iter()
            .map(|r| parse_address(r, "recipient"))
            .collect::<Result<Vec<_>>>()?;
        let mail = Mail::new(Some(from), params).to_string();
        if self.caps.pipelining {
            return self.begin_pipelined(mail, recipients);
        }
        self.expect(Stage::MailFrom, Some(&mail))?;
        for rcpt in recipients {
            let address = rcpt.to_string();
            if let Err(err) = self.expect(Stage::RcptTo, Some(&Rcpt::new(rcpt, vec![]).to_string()))
            {
                self.reset();
                // Servers often say only "User unknown": name the address they refused.
                return Err(err.context(&format!("recipient <{address}>")));
            }
        }
        self.expect(Stage::Data, Some("DATA\r\n")).map(drop)
    }

    /// MAIL FROM, every RCPT TO and DATA in one write (RFC 2920), then their replies in
    /// order: one round trip instead of one per command. A refused sender or recipient
    /// resets the transaction, so the others never get the message: after the 503/554 a
    /// server gives DATA when no recipient is left, with RSET; if the server still said 354
    /// (another recipient was accepted), by closing the connection before any message data,
    /// which leaves nothing to deliver (RFC 5321 §4.1.1.4).
    fn begin_pipelined(&mut self, mail: String, recipients: Vec<Address>) -> Result<()> {
        let addresses: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let mut batch = mail;
        for rcpt in recipients {
            batch.push_str(&Rcpt::new(rcpt, vec![]).to_string());
        }
        batch.push_str("DATA\r\n");
        for line in batch.lines() {
            self.trace_out(line);
        }
        self.write(batch.as_bytes())?;
        let mut first_error = None;
        for i in 0..=addresses.len() {
            let stage = if i == 0 {
                Stage::MailFrom
            } else {
                Stage::RcptTo
            };
            let reply = self.read(stage)?;
            if let Err(err) = self.accept(stage, reply) {
                let err = match i {
                    0 => err,
                    _ => err.context(&format!("recipient <{}>", addresses[i - 1])),
                };
                first_error.get_or_insert(err);
            }
        }
        let reply = self.read(Stage::Data)?;
        match first_error {
            None => self.accept(Stage::Data, reply).map(drop),
            Some(err) if reply.code == 354 => {
                self.state = State::Broken;
                self.wire.shutdown();
                Err(err)
            }
            Some(err) => {
                self.reset();
                Err(err)
            }
        }
    }

    /// What `rmail check` reports: the full EHLO reply (the one after TLS) and the
    /// certificate chain.
    pub(crate) fn report(&self) -> ServerReport {
        ServerReport {
            ehlo: self.caps.lines.clone(),
            certificates: self.wire.peer_certificates(),
            encrypted: self.wire.is_encrypted(),
        }
    }

    /// Ends the session politely (see [`Drop`]).
    pub(crate) fn quit(self) {}

    /// True when the server or network broke the connection and it cannot be reused.
    pub(crate) fn is_broken(&self) -> bool {
        self.state != State::Ready
    }

    /// RSET after a refused recipient, so the connection can carry the next message.
    fn reset(&mut self) {
        if self.state == State::Ready && self.expect(Stage::Rset, Some("RSET\r\n")).is_err() {
            self.state = State::Broken;
        }
    }

    // --- one command, one reply ---------------------------------------------------------

    /// Sends `command` (if any), reads the reply, and turns anything but the stage's
    /// go-ahead into an error.
    fn expect(&mut self, stage: Stage, command: Option<&str>) -> Result<Reply> {
        let reply = match command {
            Some(command) => {
                self.trace_out(command.trim_end());
                self.exchange(stage, command.as_bytes())?
            }
            None => self.read(stage)?,
        };
        self.accept(stage, reply)
    }

    fn accept(&mut self, stage: Stage, reply: Reply) -> Result<Reply> {
        if stage.accepts(reply.code) {
            return Ok(reply);
        }
        let err = reply_error(&self.server, stage, reply.code, &reply.text());
        if reply.class() == 2 || reply.class() == 3 {
            // Out of step with the server (250 to DATA, 334 after AUTH): the commands that
            // would follow could be read as anything. Only QUIT is left.
            self.state = State::Broken;
            self.send_quit();
        }
        Err(err)
    }

    fn exchange(&mut self, stage: Stage, bytes: &[u8]) -> Result<Reply> {
        self.write(bytes)?;
        self.read(stage)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.state != State::Ready {
            return Err(Error::new(
                ErrorKind::Temporary,
                format!("the connection to {} is no longer usable", self.server),
            ));
        }
        let timeout = self.timeout;
        self.wire.write_all(bytes, timeout).map_err(|e| {
            self.state = State::Broken;
            wire_error(&self.server, None, e)
        })
    }

    fn read(&mut self, stage: Stage) -> Result<Reply> {
        let deadline = Instant::now() + self.timeout;
        match self.wire.read_reply(deadline) {
            Ok(reply) => {
                self.trace_in(&reply.text());
                Ok(reply)
            }
            Err(e) => {
                self.state = State::Broken;
                Err(wire_error(&self.server, Some(stage), e))
            }
        }
    }

    /// QUIT, and at most [`QUIT_GRACE`] for the answer.
    fn send_quit(&mut self) {
        if self.state == State::Closed {
            return;
        }
        self.trace_out("QUIT");
        let grace = QUIT_GRACE.min(self.timeout);
        if self.wire.write_all(b"QUIT\r\n", grace).is_ok()
            && let Ok(reply) = self.wire.read_reply(Instant::now() + grace)
        {
            self.trace_in(&reply.text());
        }
        self.state = State::Closed;
        self.wire.shutdown();
    }

    fn trace_out(&self, line: &str) {
        if self.verbose {
            trace::verbose(&format!("smtp: -> {line}"));
        }
    }

    fn trace_in(&self, line: &str) {
        if self.verbose {
            let line = match &self.redact {
                Some(secret) => super::redact::auth_reply(line, secret),
                None => line.to_string(),
            };
            trace::verbose(&format!("smtp: <- {line}"));
        }
    }
}

impl Drop for Session {
    /// Every session ends with QUIT while the server still listens: after a delivery, a
    /// refused recipient, a failed login, a message too large. A broken connection is just
    /// closed.
    fn drop(&mut self) {
        match self.state {
            State::Ready => self.send_quit(),
            State::Broken => self.wire.shutdown(),
            State::Closed => {}
        }
    }
}

/// The cause of the error when bytes arrived after the `220` to STARTTLS.
#[derive(Debug)]
pub(crate) struct StarttlsInjection;

impl std::fmt::Display for StarttlsInjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bytes injected after the 220 to STARTTLS")
    }
}

impl std::error::Error for StarttlsInjection {}

/// A reply as it came on the wire (for lettre's AUTH challenge parser).
fn reply_wire(reply: &Reply) -> String {
    let n = reply.lines.len();
    reply
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let sep = if i + 1 == n { ' ' } else { '-' };
            format!("{}{sep}{line}", reply.code)
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn parse_address(text: &str, what: &str) -> Result<Address> {
    text.parse::<Address>()
        .map_err(|e| Error::data(format!("invalid {what} address '{text}': {e}")))
}

/// The rustls configuration for the profile: its `ca_file`, the pin, `rmail check`'s needs.
fn tls_config(profile: &Profile, options: ConnectOptions) -> Result<Arc<ClientConfig>> {
    let pem = match &profile.server.ca_file {
        Some(path) => Some((
            path.as_path(),
            std::fs::read(path).map_err(|e| {
                Error::config(format!(
                    "profile '{}': cannot read ca_file {}: {e}",
                    profile.name,
                    path.display()
                ))
            })?,
        )),
        None => None,
    };
    tls::client_config(
        &profile.name,
        pem.as_ref().map(|(p, b)| (*p, b.as_slice())),
        TrustOptions {
            accept_any_certificate: profile.tls_fingerprint.is_some() || options.inspect_untrusted,
            tls13_only: options.tls13_only,
        },
    )
}

/// A failed connect: always temporary (the server may be back later).
fn connect_error(server: &str, err: &std::io::Error) -> Error {
    let detail = match err.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            "no answer in time".to_owned()
        }
        _ => err.to_string(),
    };
    Error::new(
        ErrorKind::Temporary,
        format!("connecting to {server} failed: {detail}"),
    )
}

/// A failure below the replies: TLS, the network, a reply too long, late or malformed.
fn wire_error(server: &str, stage: Option<Stage>, err: WireError) -> Error {
    if let WireError::Io(io) = &err
        && let Some(tls) = io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return crate::smtp::classify::tls_error(server, tls);
    }
    let during = stage
        .map(|s| format!(" during {}", s.describe()))
        .unwrap_or_default();
    match err {
        WireError::Timeout => Error::new(
            ErrorKind::Temporary,
            format!(
                "{server} did not answer in time{during}; try again later or raise timeout_secs"
            ),
        ),
        err => Error::new(
            ErrorKind::Temporary,
            format!("the connection to {server} failed{during}: {err}"),
        ),
    }
}

/// The client name sent in EHLO for this profile.
pub(crate) fn client_id(profile: &Profile) -> ClientId {
    match &profile.hello_name {
        Some(name) => ClientId::Domain(name.clone()),
        None => ClientId::default(),
    }
}
