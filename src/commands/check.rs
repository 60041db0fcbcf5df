//! `rmail check`: connect with a profile, show what the server offers and whether the login
//! works, then QUIT without sending anything.

use std::fmt::Write as _;

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::profile::Profile;
use crate::config::profile::Security;
use crate::error::{ErrorKind, Result};
use crate::report::Report;
use crate::settings::CheckRequest;
use crate::smtp::session::{ConnectOptions, ServerReport, Session};
use crate::smtp::tls::fingerprint;

/// Runs the check, printing each finding to stdout as it is known. The error, if any, is
/// the first thing that would stop a real send.
pub(crate) fn run(request: CheckRequest) -> Result<Report> {
    let (profile, verbose) = (&request.profile, request.verbose);
    println!(
        "profile:     {} ({}, security {})",
        profile.name,
        profile.server,
        profile.server.security.as_str()
    );
    let options = ConnectOptions {
        verbose,
        ..ConnectOptions::default()
    };
    let mut session = match Session::connect(profile, options) {
        Ok(session) => session,
        Err(err) if err.kind() == ErrorKind::Auth && profile.server.security != Security::None => {
            // Show the certificate that failed, so the user can judge it (or pin it).
            let inspect = ConnectOptions {
                inspect_untrusted: true,
                ..options
            };
            if let Ok(untrusted) = Session::connect(profile, inspect) {
                print!("{}", describe_certificates(&untrusted.report(), None));
                untrusted.quit();
            }
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    let report = session.report();
    let tls_version = if report.encrypted {
        Some(tls_version(profile, verbose))
    } else {
        None
    };
    print!("{}", describe_certificates(&report, tls_version));
    print!("{}", describe_extensions(&report));

    if profile.username.is_none() {
        println!("auth:        not configured (no username)");
        session.quit();
        return Ok(Report::default());
    }
    let secret = profile.secret()?;
    if let Err(err) = session.login(profile, secret.as_ref()) {
        if err.kind() == ErrorKind::Auth {
            println!("auth:        FAILED");
        }
        return Err(err);
    }
    println!(
        "auth:        ok ({} as {})",
        profile
            .auth
            .map(|a| a.as_str().to_uppercase())
            .unwrap_or_else(|| "PLAIN/LOGIN".into()),
        profile.username.as_deref().unwrap_or("")
    );
    if let Some(settings) = profile.oauth()
        && let Ok(Some(info)) = crate::oauth::token_info(settings)
    {
        println!(
            "oauth:       token valid until {}, scopes {} ({})",
            info.expires_at
                .map(crate::time::timestamp)
                .unwrap_or_else(|| "unknown".into()),
            info.scopes.join(" "),
            match (settings.flow, info.refreshable) {
                (crate::oauth::Flow::ClientCredentials, _) =>
                    "app token, fetched again when needed",
                (_, true) => "renews itself",
                (_, false) => "no refresh token: `rmail login` again when it expires",
            }
        );
    }
    session.quit();
    Ok(Report::default())
}

/// TLS 1.3 if a connection that refuses anything older succeeds, else TLS 1.2 (the oldest
/// rustls speaks). lettre does not expose the negotiated version, so this asks again.
fn tls_version(profile: &Profile, verbose: bool) -> &'static str {
    let strict = ConnectOptions {
        verbose,
        tls13_only: true,
        ..ConnectOptions::default()
    };
    match Session::connect(profile, strict) {
        Ok(session) => {
            session.quit();
            "TLS 1.3"
        }
        Err(_) => "TLS 1.2",
    }
}

fn describe_certificates(report: &ServerReport, tls_version: Option<&str>) -> String {
    let mut out = String::new();
    if !report.encrypted {
        let _ = writeln!(out, "tls:         none (plaintext connection)");
        return out;
    }
    let _ = writeln!(
        out,
        "tls:         {}",
        tls_version.unwrap_or("handshake completed, certificate NOT trusted")
    );
    let Some(leaf) = report.certificates.first() else {
        return out;
    };
    match X509Certificate::from_der(leaf) {
        Ok((_, cert)) => {
            let _ = writeln!(out, "subject:     {}", cert.subject());
            let _ = writeln!(out, "issuer:      {}", cert.issuer());
            let _ = writeln!(out, "expires:     {}", cert.validity().not_after);
        }
        Err(e) => {
            let _ = writeln!(out, "certificate: cannot be parsed ({e})");
        }
    }
    let _ = writeln!(out, "fingerprint: {}", fingerprint(leaf));
    out
}

fn describe_extensions(report: &ServerReport) -> String {
    let mut out = String::new();
    let mut lines = report.ehlo.iter();
    if let Some(greeting) = lines.next() {
        let _ = writeln!(out, "server:      {greeting}");
    }
    let mut auth = Vec::new();
    let mut extensions = Vec::new();
    for line in lines {
        match line.split_once(' ') {
            Some((keyword, mechs)) if keyword.eq_ignore_ascii_case("AUTH") => {
                auth.extend(mechs.split_whitespace().map(str::to_string));
            }
            _ => extensions.push(line.clone()),
        }
    }
    let _ = writeln!(out, "extensions:  {}", extensions.join(", "));
    let _ = writeln!(
        out,
        "auth offers: {}",
        if auth.is_empty() {
            "none".to_string()
        } else {
            auth.join(" ")
        }
    );
    out
}
