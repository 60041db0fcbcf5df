//! The few entry points the fuzz targets in `fuzz/` drive: each takes untrusted bytes the way
//! a user, a data file or a server would hand them to rmail, and must never panic.

use std::path::{Path, PathBuf};

use crate::config::{file, profile};
use crate::delivery::merge::data::{Dataset, Format};
use crate::message::address::Mailbox;
use crate::template::{self, Template};

/// Address parsing: one mailbox and a list.
pub fn address(text: &str) {
    let _ = Mailbox::parse_list(text);
    let _ = Mailbox::parse(text);
}

/// A config file: parsed, every profile resolved and listed.
pub fn config(text: String) {
    if let Ok(loaded) = file::parse(PathBuf::from("fuzz.toml"), text) {
        let _ = profile::select(&loaded, None);
        if let Ok(profiles) = profile::all(&loaded) {
            let _ = crate::report::listing::profiles(&profiles, None);
        }
    }
}

/// Merge data: `pick` chooses CSV, TSV, JSON or JSONL; every row becomes a template context.
pub fn data(pick: u8, bytes: &[u8]) {
    let (format, name) = match pick % 4 {
        0 => (Format::Csv, "rows.csv"),
        1 => (Format::Tsv, "rows.tsv"),
        2 => (Format::Json, "rows.json"),
        _ => (Format::Jsonl, "rows.jsonl"),
    };
    if let Ok(dataset) = Dataset::parse(Path::new(name), format, bytes) {
        let _ = dataset.row_keys();
        for row in &dataset.rows {
            let _ = row.describe();
            let _ = template::context(&row.values);
        }
    }
}

/// HTML → the generated text alternative.
pub fn html_to_text(html: &str) {
    let _ = crate::mime::html_text::html_to_text(html);
}

/// A template file at `path` (inside `dir`), loaded and rendered with a fixed row.
pub fn template(path: &Path, dir: &Path) {
    if let Ok(template) = Template::load(path) {
        let row = serde_json::json!({
            "name": "Zoë", "email": "zoe@example.com", "id": 7, "items": ["a", "b"],
        });
        if let Some(row) = row.as_object() {
            let _ = template.render(&template::context(row), &[dir.to_path_buf()]);
        }
    }
}

/// sendmail-mode input, with `-t` and with a fixed recipient; each message that prepares is
/// DKIM-signed with `key_file` (an Ed25519 PEM key).
pub fn sendmail(input: &[u8], key_file: &Path) {
    use crate::config::profile::{Dkim, DkimAlgorithm};
    use crate::message::raw;
    use crate::settings::sendmail::{Aliases, SendmailRequest};

    let Ok(config) = file::parse(
        PathBuf::from("fuzz.toml"),
        "[profiles.f]\nhost = \"127.0.0.1\"\nfrom = \"Fuzz <fuzz@example.com>\"\n".into(),
    ) else {
        return;
    };
    let Ok(Some(profile)) = profile::select(&config, None) else {
        return;
    };
    let Ok(sender) = Mailbox::parse("fuzz@example.com") else {
        return;
    };
    let Ok(signer) = crate::mime::dkim::Signer::new(
        "f",
        &Dkim {
            domain: "example.com".into(),
            selector: "fuzz".into(),
            private_key_file: key_file.to_path_buf(),
            algorithm: DkimAlgorithm::Ed25519Sha256,
        },
    ) else {
        return;
    };
    for (extract, recipients) in [
        (true, vec![]),
        (false, vec!["rcpt@example.com".to_string()]),
    ] {
        let request = SendmailRequest {
            profile: profile.clone(),
            extract_recipients: extract,
            ignore_dots: !extract,
            sender: sender.clone(),
            full_name: None,
            recipients,
            aliases: Aliases::default(),
            delivery: Default::default(),
        };
        if let Ok(prepared) = raw::prepare(&request, input) {
            let _ = signer.sign(&prepared.message);
        }
    }
}
