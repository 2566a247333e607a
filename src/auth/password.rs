//! argon2id password hashing, off the async threads and capped in concurrency.
use crate::state::AppState;
use anyhow::Context;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use std::sync::OnceLock;

/// OWASP's argon2id floor: 19 MiB, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password synchronously (CPU-heavy: call through `hash` from async code).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = argon2()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

/// Checks a password against a stored PHC string synchronously.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of nothing in particular, verified when the account does not exist, so an unknown user
/// costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("no account has this password").expect("hash dummy"))
}

/// Hashes on the blocking pool, at most one hash per core at a time.
pub async fn hash(state: &AppState, password: String) -> anyhow::Result<String> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .context("hash permits closed")?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .context("hash task")?
}

/// Verifies on the blocking pool; `None` hash means "no such user" and still costs a verification.
pub async fn verify(
    state: &AppState,
    password: String,
    phc: Option<String>,
) -> anyhow::Result<bool> {
    let _permit = state
        .hash_permits
        .acquire()
        .await
        .context("hash permits closed")?;
    tokio::task::spawn_blocking(move || match phc {
        Some(phc) => verify_blocking(&password, &phc),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .context("verify task")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let phc = hash_blocking("correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse battery staple", &phc));
        assert!(!verify_blocking("correct horse battery stapl", &phc));
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let long = "a".repeat(500);
        let phc = hash_blocking(&long).unwrap();
        assert!(!verify_blocking(&"a".repeat(499), &phc));
        assert!(verify_blocking(&long, &phc));
    }
}
