//! A server's reply to AUTH may repeat what the client sent — the credential, in clear or in
//! base64 — and that reply goes on to stderr, the delivery log and the outbox. Before it goes
//! anywhere, the secret and every word that looks like an encoded credential are replaced.

/// `reply` with `secret` and every base64-looking word (8+ characters of the base64 alphabet
/// with a digit, `+`, `/`, `=` or an inner capital) replaced by `(redacted)`.
pub(crate) fn auth_reply(reply: &str, secret: &str) -> String {
    let reply = if secret.is_empty() {
        reply.to_string()
    } else {
        reply.replace(secret, "(redacted)")
    };
    reply
        .split(' ')
        .map(|word| {
            let core = word.trim_matches(|c: char| ":;,.()[]<>\"'".contains(c));
            if looks_encoded(core) {
                word.replace(core, "(redacted)")
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn looks_encoded(word: &str) -> bool {
    let alphabet = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    word.len() >= 8
        && word.chars().all(alphabet)
        && (word
            .chars()
            .any(|c| c.is_ascii_digit() || "+/=".contains(c))
            || word.chars().skip(1).any(|c| c.is_ascii_uppercase())
                && word.chars().any(|c| c.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_credentials_are_removed_and_advice_kept() {
        let said = auth_reply(
            "535 5.7.8 bad credentials, you said: AUTH PLAIN AGFsaWNlAEh1bnRlcjItU2VjcmV0LTlx",
            "Hunter2-Secret-9q",
        );
        assert_eq!(
            said,
            "535 5.7.8 bad credentials, you said: AUTH PLAIN (redacted)"
        );
        assert_eq!(
            auth_reply(
                "535 password Hunter2-Secret-9q is wrong",
                "Hunter2-Secret-9q"
            ),
            "535 password (redacted) is wrong"
        );
        let advice = "535-5.7.8 Username and Password not accepted. Learn more at \
                      https://support.example.com/mail/?p=BadCredentials";
        assert_eq!(auth_reply(advice, "Hunter2-Secret-9q"), advice);
        assert_eq!(auth_reply("334 VXNlcm5hbWU6", ""), "334 (redacted)");
    }
}
