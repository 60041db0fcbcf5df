//! SHA-256 as lowercase hex: fingerprints, row keys, MIME boundaries.

/// Lowercase hex of the first `bytes` bytes (at most 32) of the SHA-256 of `data`.
pub(crate) fn sha256_hex(data: &[u8], bytes: usize) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let digest = digest.as_ref();
    digest[..bytes.min(digest.len())]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_hex(b"abc", 32),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(super::sha256_hex(b"abc", 4), "ba7816bf");
    }
}
