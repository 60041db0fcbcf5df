//! The IMAP session that saves copies: log in, find the Sent mailbox, APPEND, log out.
//!
//! The `imap` crate speaks the protocol (command tags, LOGIN quoting, AUTHENTICATE, the
//! LIST parser of imap-proto, APPEND with a synchronizing literal) over the stream
//! [`connect`](super::connect) secured; rmail decides what to send.

use imap::types::Flag;
use imap_proto::NameAttribute;

use crate::config::secret::Secret;
use crate::error::{Error, ErrorKind};

use super::connect::{self, Limited, Stream};
use super::folder::{self, Listed};
use super::{Account, Auth, copy, printable};

/// The `imap` crate's session over rmail's secured stream.
type ImapSession = imap::Session<Limited<Stream>>;

/// Saves copies into one account's Sent mailbox over one session, opened on the first copy
/// (logged in, mailbox found) and reused for the next ones; after a failure the next copy
/// starts a new session.
pub(crate) struct Saver<'a> {
    account: &'a Account,
    secret: Secret,
    open: Option<(ImapSession, Mailbox)>,
}

/// The chosen mailbox: as the server spells it, and as a person reads it.
struct Mailbox {
    raw: String,
    shown: String,
}

impl<'a> Saver<'a> {
    pub(crate) fn new(account: &'a Account, secret: Secret) -> Saver<'a> {
        Saver {
            account,
            secret,
            open: None,
        }
    }

    /// Appends `message` (the bytes as they should be stored) to the Sent mailbox, flagged
    /// `\Seen`, with the message's `Date:` as its internal date. Returns the mailbox's name
    /// as a person reads it.
    pub(crate) fn save(&mut self, message: &[u8]) -> Result<String, Error> {
        let (mut session, mailbox) = match self.open.take() {
            Some(open) => open,
            None => open(self.account, self.secret.expose())?,
        };
        append_to(&mut session, &mailbox, message, &self.account.server())?;
        let shown = mailbox.shown.clone();
        self.open = Some((session, mailbox));
        Ok(shown)
    }

    /// Logs out. The copies are stored once each APPEND is OK; a failed LOGOUT changes
    /// nothing.
    pub(crate) fn close(mut self) {
        if let Some((mut session, _)) = self.open.take() {
            let _ = session.logout();
        }
    }
}

/// Connects, logs in and finds the mailbox.
fn open(account: &Account, secret: &str) -> Result<(ImapSession, Mailbox), Error> {
    let server = account.server();
    let stream = connect::open(account)?;
    let mut client = imap::Client::new(stream);
    // After STARTTLS only what the server says inside TLS counts.
    let capabilities = client
        .capabilities()
        .map_err(|e| imap_error(&server, "CAPABILITY", e))?;
    let offers_plain = capabilities.has_str("AUTH=PLAIN");
    let login_disabled = capabilities.has_str("LOGINDISABLED");
    drop(capabilities);

    let user = &account.username;
    let logged_in = match account.auth {
        Auth::XOAuth2 => client.authenticate(
            "XOAUTH2",
            &Sasl {
                mechanism: SaslMechanism::XOAuth2,
                user,
                secret,
            },
        ),
        Auth::Password if offers_plain => client.authenticate(
            "PLAIN",
            &Sasl {
                mechanism: SaslMechanism::Plain,
                user,
                secret,
            },
        ),
        Auth::Password if login_disabled => {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("{server} offers neither AUTH=PLAIN nor LOGIN, so rmail cannot log in"),
            ));
        }
        Auth::Password => client.login(user, secret),
    };
    let mut session = logged_in.map_err(|(e, _client)| match e {
        imap::Error::No(no) => Error::new(
            ErrorKind::Auth,
            format!(
                "{server} refused the login of {user}: {}; check the IMAP username and password",
                printable(&no.information)
            ),
        ),
        imap::Error::Bad(bad) => Error::new(
            ErrorKind::Auth,
            format!(
                "{server} refused the login of {user}: {}",
                printable(&bad.information)
            ),
        ),
        other => imap_error(&server, "login", other),
    })?;
    let mailbox = find_mailbox(&mut session, account, &server)?;
    Ok((session, mailbox))
}

/// LIST, then [`folder::choose`].
fn find_mailbox(
    session: &mut ImapSession,
    account: &Account,
    server: &str,
) -> Result<Mailbox, Error> {
    let capabilities = session
        .capabilities()
        .map_err(|e| imap_error(server, "CAPABILITY", e))?;
    // RFC 6154: ask for the special-use attributes where LIST can be asked.
    let pattern = if capabilities.has_str("SPECIAL-USE") && capabilities.has_str("LIST-EXTENDED") {
        "\"*\" RETURN (SPECIAL-USE)"
    } else {
        "\"*\""
    };
    drop(capabilities);
    let names = session
        .list(Some(""), Some(pattern))
        .map_err(|e| imap_error(server, "LIST", e))?;
    let listed: Vec<Listed> = names
        .iter()
        .map(|name| {
            let attributes = name.attributes();
            Listed {
                raw: name.name().to_owned(),
                delimiter: name.delimiter().map(str::to_owned),
                sent: attributes.contains(&NameAttribute::Sent),
                no_select: attributes.iter().any(|a| match a {
                    NameAttribute::NoSelect => true,
                    NameAttribute::Extension(ext) => ext.eq_ignore_ascii_case("\\NonExistent"),
                    _ => false,
                }),
            }
        })
        .collect();
    drop(names);
    let raw = folder::choose(&listed, account.sent_folder.as_deref(), server)?;
    let shown = Listed {
        raw: raw.clone(),
        delimiter: None,
        sent: false,
        no_select: false,
    }
    .name();
    Ok(Mailbox { raw, shown })
}

/// APPEND with `\Seen` and the message's date.
fn append_to(
    session: &mut ImapSession,
    mailbox: &Mailbox,
    message: &[u8],
    server: &str,
) -> Result<(), Error> {
    let shown = &mailbox.shown;
    let quoted = quoted_inner(&mailbox.raw, server)?;
    let mut command = session.append(&quoted, message);
    command.flag(Flag::Seen);
    if let Some(date) = copy::date(message) {
        command.internal_date(date);
    }
    command.finish().map_err(|e| match e {
        imap::Error::No(no) => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{server} did not store the copy in \"{shown}\": {}",
                printable(&no.information)
            ),
        ),
        imap::Error::Append => Error::new(
            ErrorKind::Unavailable,
            format!("{server} did not accept the copy for \"{shown}\""),
        ),
        other => imap_error(server, "APPEND", other),
    })?;
    Ok(())
}

/// The inside of a quoted string for `name`: the `imap` crate writes APPEND's mailbox as
/// `"{name}"` without escaping, so rmail escapes it, and refuses a name no quoted string can
/// carry (a server that lists such a name is not to be trusted with a command line).
fn quoted_inner(name: &str, server: &str) -> Result<String, Error> {
    if name
        .bytes()
        .any(|b| b == b'\r' || b == b'\n' || b == 0 || b >= 0x80)
    {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "{server} lists the Sent mailbox as \"{}\", a name rmail cannot send back \
                 safely; set sent_folder to another mailbox",
                printable(name)
            ),
        ));
    }
    Ok(name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// An `imap` crate error outside login and APPEND, classified like SMTP's: network and
/// protocol trouble is temporary (the copy waits in the outbox), TLS is a trust failure.
fn imap_error(server: &str, stage: &str, err: imap::Error) -> Error {
    match err {
        imap::Error::Io(io) => connect::io_error(server, stage, &io),
        imap::Error::ConnectionLost => Error::new(
            ErrorKind::Temporary,
            format!("{server}: the connection was lost during {stage}"),
        ),
        imap::Error::Bye(bye) => Error::new(
            ErrorKind::Temporary,
            format!(
                "{server} ended the session during {stage}: {}",
                printable(&bye.information)
            ),
        ),
        imap::Error::No(no) => Error::new(
            ErrorKind::Unavailable,
            format!("{server} refused {stage}: {}", printable(&no.information)),
        ),
        imap::Error::Bad(bad) => Error::new(
            ErrorKind::Unavailable,
            format!("{server} refused {stage}: {}", printable(&bad.information)),
        ),
        other => Error::new(
            ErrorKind::Unavailable,
            format!(
                "{server}: {stage} failed: {}",
                printable(&other.to_string())
            ),
        ),
    }
}

/// What rmail answers the server's AUTHENTICATE with: the mechanism, the user and its secret.
struct Sasl<'a> {
    mechanism: SaslMechanism,
    user: &'a str,
    secret: &'a str,
}

/// The SASL mechanisms rmail logs in to IMAP with.
#[derive(Debug, Clone, Copy)]
enum SaslMechanism {
    /// PLAIN (RFC 4616): authorization identity empty, then user and password.
    Plain,
    /// XOAUTH2 (Google's and Microsoft's mechanism for OAuth2 bearer tokens).
    XOAuth2,
}

impl imap::Authenticator for Sasl<'_> {
    type Response = Vec<u8>;
    fn process(&self, challenge: &[u8]) -> Vec<u8> {
        match self.mechanism {
            SaslMechanism::Plain => {
                [b"\0", self.user.as_bytes(), b"\0", self.secret.as_bytes()].concat()
            }
            // A challenge is the server's JSON error: an empty response lets it send its NO.
            SaslMechanism::XOAuth2 if !challenge.is_empty() => Vec::new(),
            SaslMechanism::XOAuth2 => {
                format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.secret).into_bytes()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::thread;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::config::profile::Security;

    /// A hostile server: greets, then answers the first command with `reply(stream)`.
    fn hostile(reply: fn(&mut std::net::TcpStream)) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.write_all(b"* OK ready\r\n").unwrap();
            let mut line = String::new();
            let _ = BufReader::new(tcp.try_clone().unwrap()).read_line(&mut line);
            reply(&mut tcp);
        });
        port
    }

    /// Saves a copy to the server on `port`, which must refuse it one way or another.
    fn save_to(port: u16) -> Error {
        let account = Account::on_loopback(port, Security::None, Duration::from_secs(1));
        Saver::new(&account, Secret::new("pw".into()))
            .save(b"Subject: x\r\n\r\nhi\r\n")
            .unwrap_err()
    }

    #[test]
    fn a_server_that_stops_answering_costs_one_timeout() {
        let port = hostile(|_| thread::sleep(Duration::from_secs(5)));
        let started = Instant::now();
        let err = save_to(port);
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(err.message().contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn a_server_that_never_stops_talking_is_cut_off() {
        let port = hostile(|tcp| {
            let line = [b"* OK ".as_slice(), &[b'a'; 65536], b"\r\n"].concat();
            while tcp.write_all(&line).is_ok() {}
        });
        let err = save_to(port);
        assert_eq!(err.kind(), ErrorKind::Temporary, "{err}");
        assert!(err.message().contains("more than"), "{err}");
    }

    #[test]
    fn mailbox_names_are_escaped_for_the_quoted_string() {
        assert_eq!(quoted_inner("Sent Messages", "s").unwrap(), "Sent Messages");
        assert_eq!(quoted_inner(r#"a"b\c"#, "s").unwrap(), r#"a\"b\\c"#);
        assert_eq!(quoted_inner("&XfJT0ZAB-", "s").unwrap(), "&XfJT0ZAB-");
    }

    #[test]
    fn a_name_that_could_end_the_command_is_refused() {
        for name in ["Sent\r\nA2 DELETE INBOX", "Sent\n", "Sent\0", "Envoyés"] {
            let err = quoted_inner(name, "imap.example.com:993").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unavailable);
            assert!(!err.message().contains('\n'), "{err}");
        }
    }

    #[test]
    fn sasl_responses() {
        use imap::Authenticator;
        let plain = Sasl {
            mechanism: SaslMechanism::Plain,
            user: "me@example.com",
            secret: "pä\"ss",
        };
        assert_eq!(plain.process(b""), b"\0me@example.com\0p\xc3\xa4\"ss");
        let oauth = Sasl {
            mechanism: SaslMechanism::XOAuth2,
            user: "me@example.com",
            secret: "tok",
        };
        assert_eq!(
            oauth.process(b""),
            b"user=me@example.com\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(oauth.process(b"{\"status\":\"401\"}"), b"");
    }
}
