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
}

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
    }
}

/// Every known preset, in the order `rmail profiles` and error messages list them.
pub(crate) const PRESETS: &[Preset] = &[
    preset(
        "gmail",
        "smtp.gmail.com",
        587,
        Security::Starttls,
        "needs an app password (Google Account > Security > App passwords) or auth = \"xoauth2\"",
    ),
    preset(
        "outlook",
        "smtp.office365.com",
        587,
        Security::Starttls,
        "Microsoft 365 / Outlook.com; tenants that disabled basic auth need auth = \"xoauth2\"",
    ),
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

/// The preset called `name`, if there is one.
pub(crate) fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// The preset names, comma-separated, for error messages.
pub(crate) fn names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
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
        assert!(find("nope").is_none());
    }
}
