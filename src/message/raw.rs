//! sendmail mode: an RFC 5322 message on stdin → envelope + the bytes to send.
//!
//! This is what cron, `mail`, and scripts written for `/usr/sbin/sendmail` talk to. The
//! message is passed on as it came, except: line endings become CRLF, Bcc headers are
//! removed, and a missing From, Date or Message-ID is added. A From without a usable
//! address (cron writes `From: root (Cron Daemon)`) is replaced by the profile's sender, as a
//! relay would reject it.

use crate::error::{Error, Result};
use crate::message::address::{ADDRESS_HEADERS, Mailbox, punycode_domains};
use crate::message::address_header::{self, Item};
use crate::message::identity;
use crate::message::spec::Envelope;
use crate::settings::sendmail::{Aliases, SendmailRequest};

/// A message ready to go: its envelope and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    pub(crate) envelope: Envelope,
    pub(crate) message: Vec<u8>,
}

/// One header as it arrived, continuation lines included (without the final CRLF). The
/// bytes are kept as they are, UTF-8 or not, since they are passed on unchanged.
struct RawHeader {
    name: String,
    raw: Vec<u8>,
}

impl RawHeader {
    /// A header rmail writes itself.
    fn new(name: &str, value: &str) -> RawHeader {
        RawHeader {
            name: name.to_string(),
            raw: format!("{name}: {value}").into_bytes(),
        }
    }

    /// The value with folding undone (lossily decoded: only for reading addresses).
    fn value(&self) -> String {
        let text = String::from_utf8_lossy(&self.raw);
        let raw = text.get(self.name.len() + 1..).unwrap_or_default();
        raw.split("\r\n")
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value's bytes as they came (after the colon, folding kept).
    fn value_bytes(&self) -> &[u8] {
        self.raw.get(self.name.len() + 1..).unwrap_or_default()
    }

    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Reads the message, works out the envelope, and completes the headers.
pub(crate) fn prepare(request: &SendmailRequest, input: &[u8]) -> Result<Prepared> {
    let aliases = &request.aliases;
    let lines = message_lines(input, request.ignore_dots);
    let (mut headers, body) = split_headers(&lines);

    let mut recipients = Vec::new();
    for list in &request.recipients {
        recipients.extend(parse_recipients(list, aliases, "recipient")?);
    }
    if request.extract_recipients {
        for header in headers
            .iter()
            .filter(|h| h.is("To") || h.is("Cc") || h.is("Bcc"))
        {
            recipients.extend(parse_header_addresses(header, aliases)?);
        }
    }
    let sender = &request.sender;
    let mut envelope_recipients: Vec<String> = Vec::new();
    for mailbox in recipients {
        if !envelope_recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&mailbox.email))
        {
            envelope_recipients.push(mailbox.email);
        }
    }
    if envelope_recipients.is_empty() {
        return Err(Error::usage(
            "no recipients: name them as arguments (sendmail ADDR…) or pass -t to read To/Cc/Bcc",
        ));
    }

    headers.retain(|h| !h.is("Bcc"));
    // IDN domains as punycode in the address headers, as in the envelope: the message then
    // needs SMTPUTF8 only for a non-ASCII local part.
    for header in &mut headers {
        let name = header.name.to_ascii_lowercase();
        if ADDRESS_HEADERS.contains(&name.as_str())
            && let Some(value) = header
                .raw
                .get(header.name.len() + 1..)
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(punycode_domains)
        {
            let mut raw = header.name.clone().into_bytes();
            raw.push(b':');
            raw.extend_from_slice(value.as_bytes());
            header.raw = raw;
        }
    }
    show_aliases(&mut headers, aliases);
    complete_mime_labels(&mut headers, body);
    let from_ok = headers.iter().find(|h| h.is("From")).is_some_and(|h| {
        parse_header_addresses(h, &Aliases::default()).is_ok_and(|list| !list.is_empty())
    });
    if !from_ok {
        headers.retain(|h| !h.is("From"));
        let name = request.full_name.clone().or(sender.name.clone());
        let from = Mailbox {
            name,
            email: sender.email.clone(),
        };
        headers.insert(0, RawHeader::new("From", &encode_mailbox(&from)));
    }
    if !headers.iter().any(|h| h.is("Date")) {
        headers.push(RawHeader::new("Date", &identity::date_now()));
    }
    if !headers.iter().any(|h| h.is("Message-ID")) {
        headers.push(RawHeader::new(
            "Message-ID",
            &format!("<{}>", identity::new_message_id(sender.domain())),
        ));
    }

    let body = wire_safe_body(&mut headers, body);
    let mut message = Vec::with_capacity(body.len() + 1024);
    for header in &headers {
        message.extend_from_slice(&header.raw);
        message.extend_from_slice(b"\r\n");
    }
    message.extend_from_slice(b"\r\n");
    message.extend_from_slice(&body);
    Ok(Prepared {
        envelope: Envelope {
            from: sender.email.clone(),
            recipients: envelope_recipients,
        },
        message,
    })
}

/// The input's lines without their line endings. Without `-i`, a line holding only `.`
/// ends the message, as in classic sendmail.
fn message_lines(input: &[u8], ignore_dots: bool) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect();
    if input.ends_with(b"\n") {
        lines.pop();
    }
    if !ignore_dots && let Some(end) = lines.iter().position(|l| *l == b".") {
        lines.truncate(end);
    }
    lines
}

/// Headers up to the blank line (or up to the first line that cannot be a header), and
/// the body after it. A leading mbox `From ` line is dropped.
fn split_headers<'a>(lines: &'a [&'a [u8]]) -> (Vec<RawHeader>, &'a [&'a [u8]]) {
    let mut headers: Vec<RawHeader> = Vec::new();
    let mut i = usize::from(lines.first().is_some_and(|l| l.starts_with(b"From ")));
    while let Some(line) = lines.get(i) {
        if line.is_empty() {
            return (headers, &lines[i + 1..]);
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            match headers.last_mut() {
                Some(last) => {
                    last.raw.extend_from_slice(b"\r\n");
                    last.raw.extend(header_bytes(line));
                }
                None => break,
            }
        } else {
            let name = line
                .iter()
                .position(|b| *b == b':')
                .map(|colon| &line[..colon]);
            match name {
                Some(name) if !name.is_empty() && name.iter().all(u8::is_ascii_graphic) => {
                    headers.push(RawHeader {
                        name: String::from_utf8_lossy(name).into_owned(),
                        raw: header_bytes(line).collect(),
                    });
                }
                _ => break,
            }
        }
        i += 1;
    }
    (headers, &lines[i..])
}

/// A header line's bytes with what cannot be in a header on the wire (a CR that is not
/// part of the line end, a NUL) replaced by a space, as a reader would see it.
fn header_bytes(line: &[u8]) -> impl Iterator<Item = u8> + '_ {
    line.iter()
        .map(|&b| if b == b'\r' || b == 0 { b' ' } else { b })
}

/// The body as it goes on the wire: line ends made CRLF (a bare CR ends a line, as it did
/// for whoever wrote it) and, when a line would still be illegal (a NUL, over 998 octets),
/// the body re-encoded as quoted-printable, so that a reader sees the same text. A
/// multipart or already encoded body is passed on as it is: the session refuses it if it
/// is illegal (re-encoding the parts of a MIME tree is not sendmail's job).
fn wire_safe_body(headers: &mut Vec<RawHeader>, body: &[&[u8]]) -> Vec<u8> {
    let lines: Vec<&[u8]> = body
        .iter()
        .flat_map(|line| line.split(|b| *b == b'\r'))
        .collect();
    let illegal = lines
        .iter()
        .any(|l| l.len() > crate::smtp::data::MAX_LINE_OCTETS || l.contains(&0));
    let value = |name: &str| {
        headers
            .iter()
            .find(|h| h.is(name))
            .map(|h| h.value().trim().to_ascii_lowercase())
    };
    let encoding = value("Content-Transfer-Encoding");
    let content_type = value("Content-Type");
    let single_part = !content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("multipart/") || t.starts_with("message/"));
    let unencoded = matches!(encoding.as_deref(), None | Some("7bit" | "8bit" | "binary"));
    if !(illegal && single_part && unencoded) {
        let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
        for line in lines {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        return out;
    }
    headers.retain(|h| !h.is("Content-Transfer-Encoding"));
    if !headers.iter().any(|h| h.is("MIME-Version")) {
        headers.push(RawHeader::new("MIME-Version", "1.0"));
    }
    if content_type.is_none() {
        let utf8 = lines.iter().all(|l| std::str::from_utf8(l).is_ok());
        let charset = if utf8 { "utf-8" } else { "unknown-8bit" };
        headers.push(RawHeader::new(
            "Content-Type",
            &format!("text/plain; charset={charset}"),
        ));
    }
    headers.push(RawHeader::new(
        "Content-Transfer-Encoding",
        "quoted-printable",
    ));
    crate::message::qp::encode_lines(lines)
}

/// The addresses in an address header (RFC 5322: comments, groups, quoted names).
fn parse_header_addresses(header: &RawHeader, aliases: &Aliases) -> Result<Vec<Mailbox>> {
    let what = format!("{} header", header.name);
    resolve_aliases(
        address_header::parse(&what, header.value_bytes())?,
        aliases,
        "address",
    )
}

/// Parses a recipient argument (an address list, like a header's value).
fn parse_recipients(list: &str, aliases: &Aliases, what: &str) -> Result<Vec<Mailbox>> {
    resolve_aliases(address_header::parse(what, list.as_bytes())?, aliases, what)
}

/// The mailboxes of `items`, a bare local name (`root`, as cron addresses the crontab's
/// owner) looked up in the config's `aliases`, then in its `default`.
fn resolve_aliases(items: Vec<Item>, aliases: &Aliases, what: &str) -> Result<Vec<Mailbox>> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Mailbox(mailbox) => out.push(mailbox),
            Item::Local(name) => {
                let Some(target) = aliases.get(&name) else {
                    return Err(Error::data(format!(
                        "{what} '{name}' is a local name, and rmail delivers only to full \
                         addresses; map it in the config: aliases = {{ {name} = \"you@example.com\" }} \
                         (or a `default` alias), or set MAILTO to a full address"
                    )));
                };
                // An alias maps to full addresses: no loops through other aliases.
                out.extend(target.iter().cloned());
            }
        }
    }
    Ok(out)
}

/// A To or Cc header naming a local name that an alias maps (`To: root`) is rewritten to
/// the addresses the message goes to: what a reader sees then matches the envelope, and
/// replying works. Headers without a local name are passed on unchanged, byte for byte.
fn show_aliases(headers: &mut [RawHeader], aliases: &Aliases) {
    for header in headers.iter_mut().filter(|h| h.is("To") || h.is("Cc")) {
        let Ok(items) = address_header::parse(&header.name, header.value_bytes()) else {
            continue;
        };
        let local = |item: &Item| matches!(item, Item::Local(name) if aliases.get(name).is_some());
        if !items.iter().any(local) {
            continue;
        }
        let Ok(mailboxes) = resolve_aliases(items, aliases, "address") else {
            continue;
        };
        let name = header.name.clone();
        *header = RawHeader::new(&name, &encode_list(&mailboxes));
    }
}

/// The top-level MIME labels a sendmail client got wrong or left out, fixed as a reader
/// needs them:
/// - a text body labelled `charset=US-ASCII` (cron in the C locale) that holds valid UTF-8
///   is relabelled UTF-8 (and `7bit` becomes `8bit`): otherwise it arrives garbled;
/// - a message with MIME headers but no `MIME-Version` gets `MIME-Version: 1.0`, without
///   which readers may ignore the Content-Type (RFC 2045 §4);
/// - an unlabelled 8-bit body that is valid UTF-8 is labelled `text/plain; charset=UTF-8`.
///
/// Only headers change: the body bytes go on as they came.
fn complete_mime_labels(headers: &mut Vec<RawHeader>, body: &[&[u8]]) {
    let eight_bit = body.iter().any(|l| !l.is_ascii());
    let utf8 = body.iter().all(|l| std::str::from_utf8(l).is_ok());
    let has = |headers: &[RawHeader], name: &str| headers.iter().any(|h| h.is(name));
    if eight_bit && utf8 && !has(headers, "Content-Type") {
        headers.push(RawHeader::new("Content-Type", "text/plain; charset=UTF-8"));
        if !has(headers, "Content-Transfer-Encoding") {
            headers.push(RawHeader::new("Content-Transfer-Encoding", "8bit"));
        }
    }
    if eight_bit && utf8 {
        relabel_ascii_as_utf8(headers);
    }
    let mime = has(headers, "Content-Type") || has(headers, "Content-Transfer-Encoding");
    if mime && !has(headers, "MIME-Version") {
        headers.push(RawHeader::new("MIME-Version", "1.0"));
    }
}

/// `Content-Type: text/…; charset=US-ASCII` (or glibc's name for it, ANSI_X3.4-1968) →
/// `charset=UTF-8`, and a `7bit` Content-Transfer-Encoding → `8bit`.
fn relabel_ascii_as_utf8(headers: &mut [RawHeader]) {
    let Some(content_type) = headers.iter_mut().find(|h| h.is("Content-Type")) else {
        return;
    };
    let value = content_type.value();
    let mut parts = value.split(';').map(str::trim);
    let text = parts
        .next()
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/"));
    if !text || !parts.any(is_ascii_charset) {
        return;
    }
    let rewritten: Vec<&str> = value
        .split(';')
        .map(|p| {
            if is_ascii_charset(p) {
                "charset=UTF-8"
            } else {
                p.trim()
            }
        })
        .collect();
    *content_type = RawHeader::new("Content-Type", &rewritten.join("; "));
    if let Some(cte) = headers
        .iter_mut()
        .find(|h| h.is("Content-Transfer-Encoding"))
        && cte.value().trim().eq_ignore_ascii_case("7bit")
    {
        *cte = RawHeader::new("Content-Transfer-Encoding", "8bit");
    }
}

/// `charset=us-ascii`, spaced, quoted or in any case; or glibc's name for it.
fn is_ascii_charset(param: &str) -> bool {
    let compact: String = param
        .split_whitespace()
        .collect::<String>()
        .to_ascii_lowercase();
    compact
        .strip_prefix("charset=")
        .is_some_and(|charset| matches!(charset.trim_matches('"'), "us-ascii" | "ansi_x3.4-1968"))
}

/// An address list for a header rmail writes, names RFC 2047-encoded where needed.
fn encode_list(list: &[Mailbox]) -> String {
    let mut out = Vec::new();
    let addresses = mail_builder::headers::address::Address::new_list(
        list.iter()
            .map(|m| {
                mail_builder::headers::address::Address::new_address(
                    m.name.as_deref(),
                    m.email.as_str(),
                )
            })
            .collect(),
    );
    mail_builder::headers::Header::write_header(&addresses, &mut out, 4);
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// `Name <addr>` with the name RFC 2047-encoded when it is not plain ASCII.
fn encode_mailbox(mailbox: &Mailbox) -> String {
    let mut out = Vec::new();
    let address = mail_builder::headers::address::Address::new_address(
        mailbox.name.as_deref(),
        mailbox.email.as_str(),
    );
    mail_builder::headers::Header::write_header(&address, &mut out, 6);
    String::from_utf8_lossy(&out).trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> SendmailRequest {
        let config =
            crate::config::file::parse("t.toml".into(), "[profiles.t]\nhost = \"h\"\n".into())
                .unwrap();
        SendmailRequest {
            profile: crate::config::profile::select(&config, None)
                .unwrap()
                .unwrap(),
            extract_recipients: false,
            ignore_dots: false,
            sender: Mailbox::parse("cron@host.example").unwrap(),
            full_name: None,
            recipients: list.iter().map(|s| s.to_string()).collect(),
            aliases: Aliases::default(),
            delivery: Default::default(),
        }
    }

    fn aliases(pairs: &[(&str, &str)]) -> Aliases {
        Aliases::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Mailbox::parse_list(v).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn cron_message() {
        let input = b"From: root (Cron Daemon)\nTo: ops@example.com\nSubject: Cron <root@h> backup\n\nline 1\n.\nline 3\n";
        let mut a = args(&["ops@example.com"]);
        a.full_name = Some("CronDaemon".into());
        a.ignore_dots = true;
        let p = prepare(&a, input).unwrap();
        assert_eq!(p.envelope.recipients, ["ops@example.com"]);
        let text = String::from_utf8(p.message).unwrap();
        assert!(
            text.starts_with("From: \"CronDaemon\" <cron@host.example>\r\n")
                || text.starts_with("From: CronDaemon <cron@host.example>\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nDate: "), "{text}");
        assert!(text.contains("\r\nMessage-ID: <"), "{text}");
        assert!(
            text.ends_with("\r\n\r\nline 1\r\n.\r\nline 3\r\n"),
            "{text}"
        );
    }

    #[test]
    fn local_names_go_through_aliases() {
        let input = b"To: root\nCc: backup, a@x.com\nSubject: s\n\nb\n";
        let mut a = args(&[]);
        a.extract_recipients = true;
        a.aliases = aliases(&[("root", "ops@x.com, Boss <boss@x.com>")]);
        let err = prepare(&a, input).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Data);
        assert!(
            err.message().contains("'backup'") && err.message().contains("aliases"),
            "{err}"
        );
        a.aliases = aliases(&[
            ("root", "ops@x.com, Boss <boss@x.com>"),
            ("default", "admin@x.com"),
        ]);
        let p = prepare(&a, input).unwrap();
        assert_eq!(
            p.envelope.recipients,
            ["ops@x.com", "boss@x.com", "admin@x.com", "a@x.com"]
        );
        let mut root = args(&["root"]);
        root.aliases = a.aliases.clone();
        let p = prepare(&root, b"Subject: s\n\nb\n").unwrap();
        assert_eq!(p.envelope.recipients, ["ops@x.com", "boss@x.com"]);
    }

    #[test]
    fn dot_ends_message_without_i() {
        let p = prepare(&args(&["a@x.com"]), b"Subject: s\n\nkept\n.\ndropped\n").unwrap();
        assert!(
            String::from_utf8(p.message)
                .unwrap()
                .ends_with("\r\n\r\nkept\r\n")
        );
    }

    #[test]
    fn extract_recipients_and_strip_bcc() {
        let input = b"From: A <a@x.com>\nTo: b@x.com,\n  \"C, D\" <c@x.com>\nCc: undisclosed-recipients:;\nBcc: e@x.com\nSubject: s\n\nbody\n";
        let mut a = args(&[]);
        a.extract_recipients = true;
        let p = prepare(&a, input).unwrap();
        assert_eq!(p.envelope.recipients, ["b@x.com", "c@x.com", "e@x.com"]);
        let text = String::from_utf8(p.message).unwrap();
        assert!(!text.contains("e@x.com"), "{text}");
        assert!(text.starts_with("From: A <a@x.com>\r\n"), "{text}");
    }

    #[test]
    fn keeps_date_and_message_id() {
        let input = b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\nSubject: s\n\nb\n";
        let p = prepare(&args(&["a@x.com"]), input).unwrap();
        let text = String::from_utf8(p.message).unwrap();
        assert_eq!(text.matches("Date:").count(), 1);
        assert!(text.contains("Message-ID: <x@y>\r\n"));
    }

    #[test]
    fn no_recipients_is_usage_error() {
        let err = prepare(&args(&[]), b"Subject: s\n\nb\n").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
    }
}
