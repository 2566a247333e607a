//! Random tokens and their stored hashes.
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 256 random bits, hex-encoded (64 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a token, hex-encoded: what the database stores instead of the token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A keyed hash (HMAC-SHA256) of a throttle key such as "address:203.0.113.7", under a key drawn at start-up
/// that lives only in this process's memory. A plain SHA-256 of an IPv4 address or a staff email can be
/// reversed by trying every candidate; without the key, a copy of the database cannot. The price: counts of
/// failed attempts start afresh when the server restarts (each lasts 15 minutes anyway).
pub fn throttle_key(key: &str) -> String {
    use hmac::{Hmac, Mac};
    use std::sync::OnceLock;
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    let secret = SECRET.get_or_init(|| {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        k
    });
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(key.as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Whether `s` has the shape of a token from `new_token` (cheap check before any lookup).
pub fn looks_like_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lower-case hexadecimal of `bytes` (tokens, hashes, pseudonyms, flash cookies).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Compares two strings in constant time for equal lengths.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert!(looks_like_token(&a) && a != b);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same(&a, &a.clone()) && !same(&a, &b));
    }

    #[test]
    fn throttle_keys_are_stable_in_a_process_and_not_a_plain_hash() {
        let k = throttle_key("address:127.0.0.1");
        assert_eq!(k, throttle_key("address:127.0.0.1"));
        assert_ne!(k, throttle_key("address:127.0.0.2"));
        assert_ne!(k, hash_token("address:127.0.0.1"));
        assert_eq!(k.len(), 64);
    }
}
