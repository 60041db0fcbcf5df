//! Presets for well-known mail providers: `provider = "gmail"` in a profile fills in the
//! host, port and TLS mode, and `rmail profiles` shows the provider's quirk.

use crate::config::profile::Security;

/// One provider's submission server and what users need to know about logging in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preset {
    pub(crate) name: &'static str,
    pub(crate) host: &'static str,
    pub(crate) port: u16,
    pub(crate) security: Security,
    pub(crate) note: &'static str,
    /// What `auth = "xoauth2"` with an `oauth` table needs from this provider.
    pub(crate) oauth: Option<&'static OAuthPreset>,
}

/// A provider's OAuth 2.0 endpoints and scopes for SMTP; the user brings the client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OAuthPreset {
    /// Endpoints; `{tenant}` stands for the profile's `tenant` (Microsoft).
    pub(crate) auth_url: &'static str,
    pub(crate) token_url: &'static str,
    pub(crate) device_url: Option<&'static str>,
    /// Delegated scopes (a user logs in), a refresh token included.
    pub(crate) scopes: &'static [&'static str],
    /// App-only scopes for client credentials; empty: the provider has no such flow for SMTP.
    pub(crate) app_scopes: &'static [&'static str],
    /// Extra authorization-request parameters.
    pub(crate) auth_params: &'static [(&'static str, &'static str)],
    /// `tenant` when the profile sets none; `None`: the endpoints have no tenant.
    pub(crate) default_tenant: Option<&'static str>,
}

/// Google: loopback + PKCE only (Google refuses Gmail scopes in the device flow);
/// `access_type=offline` asks for a refresh token.
const GOOGLE: OAuthPreset = OAuthPreset {
    auth_url: "https://accounts.google.com/o/oauth2/v2/auth",
    token_url: "https://oauth2.googleapis.com/token",
    device_url: None,
    scopes: &["https://mail.google.com/"],
    app_scopes: &[],
    auth_params: &[("access_type", "offline")],
    default_tenant: None,
};

/// Microsoft identity platform v2: Microsoft 365 and Outlook.com, device or loopback.
const MICROSOFT: OAuthPreset = OAuthPreset {
    auth_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
    token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    device_url: Some("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode"),
    scopes: &["https://outlook.office.com/SMTP.Send", "offline_access"],
    app_scopes: &["https://outlook.office365.com/.default"],
    auth_params: &[],
    default_tenant: Some("common"),
};

const fn preset(
    name: &'static str,
    host: &'static str,
    port: u16,
    security: Security,
    note: &'static str,
) -> Preset {
    Preset {
        name,
        host,
        port,
        security,
        note,
        oauth: None,
    }
}

/// Every known preset, in the order `rmail profiles` and error messages list them.
pub(crate) const PRESETS: &[Preset] = &[
    Preset {
        oauth: Some(&GOOGLE),
        ..preset(
            "gmail",
            "smtp.gmail.com",
            587,
            Security::Starttls,
            "needs an app password (Google Account > Security > App passwords) or auth = \"xoauth2\" with an oauth table",
        )
    },
    Preset {
        oauth: Some(&MICROSOFT),
        ..preset(
            "outlook",
            "smtp.office365.com",
            587,
            Security::Starttls,
            "Microsoft 365 / Outlook.com: basic auth is going away; use auth = \"xoauth2\" with an oauth table",
        )
    },
    preset(
        "yahoo",
        "smtp.mail.yahoo.com",
        465,
        Security::Tls,
        "needs an app password (Account security > Generate app password)",
    ),
    preset(
        "icloud",
        "smtp.mail.me.com",
        587,
        Security::Starttls,
        "needs an app-specific password (appleid.apple.com); username is the full iCloud address",
    ),
    preset(
        "fastmail",
        "smtp.fastmail.com",
        465,
        Security::Tls,
        "needs an app password (Settings > Privacy & Security > App passwords)",
    ),
    preset(
        "zoho",
        "smtp.zoho.com",
        465,
        Security::Tls,
        "EU accounts use host = \"smtp.zoho.eu\"; with 2FA on, use an app-specific password",
    ),
    preset(
        "qq",
        "smtp.qq.com",
        465,
        Security::Tls,
        "needs the mailbox's authorization code (授权码), not the QQ login password; enable SMTP in QQ Mail settings",
    ),
    preset(
        "qq-exmail",
        "smtp.exmail.qq.com",
        465,
        Security::Tls,
        "Tencent Exmail (企业邮箱); with secure login on, use a client-specific password",
    ),
    preset(
        "163",
        "smtp.163.com",
        465,
        Security::Tls,
        "needs the authorization code (授权码) from 163 Mail settings, not the login password",
    ),
    preset(
        "126",
        "smtp.126.com",
        465,
        Security::Tls,
        "needs the authorization code (授权码) from 126 Mail settings, not the login password",
    ),
    preset(
        "aliyun",
        "smtp.aliyun.com",
        465,
        Security::Tls,
        "Aliyun personal mail; enterprise mailboxes use host = \"smtp.qiye.aliyun.com\"",
    ),
];

/// A provider's IMAP server, for the copy in Sent (`save_sent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImapPreset {
    pub(crate) host: &'static str,
    pub(crate) port: u16,
    pub(crate) security: Security,
    /// The provider already files SMTP-submitted mail in Sent: rmail adds no second copy
    /// unless `save_sent = "always"`.
    pub(crate) keeps_sent_copy: bool,
}

const fn imap(host: &'static str, keeps_sent_copy: bool) -> ImapPreset {
    ImapPreset {
        host,
        port: 993,
        security: Security::Tls,
        keeps_sent_copy,
    }
}

/// The IMAP side of the presets (all implicit TLS on 993). Gmail, Outlook / Microsoft 365,
/// Zoho and NetEase (163, 126) put what was submitted over SMTP into Sent themselves.
const IMAP_PRESETS: &[(&str, ImapPreset)] = &[
    ("gmail", imap("imap.gmail.com", true)),
    ("outlook", imap("outlook.office365.com", true)),
    ("yahoo", imap("imap.mail.yahoo.com", false)),
    ("icloud", imap("imap.mail.me.com", false)),
    ("fastmail", imap("imap.fastmail.com", false)),
    ("zoho", imap("imap.zoho.com", true)),
    ("qq", imap("imap.qq.com", false)),
    ("qq-exmail", imap("imap.exmail.qq.com", false)),
    ("163", imap("imap.163.com", true)),
    ("126", imap("imap.126.com", true)),
    ("aliyun", imap("imap.aliyun.com", false)),
];

/// The IMAP server of the preset called `name`, if it has one.
pub(crate) fn imap_preset(name: &str) -> Option<&'static ImapPreset> {
    IMAP_PRESETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| p)
}

/// The preset called `name`, if there is one.
pub(crate) fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The preset names, comma-separated, for error messages.
pub(crate) fn names() -> String {
    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_presets_exist() {
        for name in [
            "gmail",
            "outlook",
            "yahoo",
            "icloud",
            "fastmail",
            "zoho",
            "qq",
            "qq-exmail",
            "163",
            "126",
            "aliyun",
        ] {
            let p = find(name).unwrap_or_else(|| panic!("preset {name} missing"));
            assert!(!p.note.is_empty());
        }
        assert_eq!(find("QQ").map(|p| p.port), Some(465));
        for preset in PRESETS {
            assert!(
                imap_preset(preset.name).is_some(),
                "{} has no IMAP",
                preset.name
            );
        }
        assert!(imap_preset("gmail").is_some_and(|p| p.keeps_sent_copy));
        assert!(imap_preset("fastmail").is_some_and(|p| !p.keeps_sent_copy));
        assert!(find("nope").is_none());
    }
}
