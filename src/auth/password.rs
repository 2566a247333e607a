//! argon2id password hashing, off the async threads, capped in concurrency, in a fixed set of work areas;
//! and the list of common passwords the policy refuses.
use crate::state::AppState;
use anyhow::Context;
use argon2::password_hash::{Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

/// OWASP's argon2id floor: 19 MiB, two passes, one lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

/// One argon2 work area (19 MiB for our parameters).
type Area = Vec<Block>;

fn new_area() -> Area {
    vec![Block::default(); params().block_count()]
}

/// Runs argon2 at most `size` at a time, each run in one of at most `size` work areas that are allocated
/// once and reused. argon2 asks for 19 MiB per hash; allocating it per login left hundreds of MiB in the
/// allocator's per-thread arenas after a burst (never returned), while the reused areas bound it to
/// `size` × 19 MiB for the life of the process.
pub struct HashPool {
    permits: Arc<Semaphore>,
    areas: Arc<Mutex<Vec<Area>>>,
}

impl HashPool {
    /// A pool for `size` concurrent hashes; the areas are allocated on first use.
    pub fn new(size: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(size.max(1))),
            areas: Arc::new(Mutex::new(Vec::with_capacity(size.max(1)))),
        }
    }

    /// Runs `work` on the blocking pool with a work area. The permit and the area travel with the blocking
    /// task and come back when it ends, even if the caller stops waiting: the count of areas never grows.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .context("hash permits closed")?;
        let areas = self.areas.clone();
        tokio::task::spawn_blocking(move || {
            let mut area = take_area(&areas);
            let out = work(&mut area);
            if let Ok(mut free) = areas.lock() {
                free.push(area);
            }
            drop(permit);
            out
        })
        .await
        .context("hash task")
    }
}

fn take_area(areas: &Mutex<Vec<Area>>) -> Area {
    areas
        .lock()
        .ok()
        .and_then(|mut free| free.pop())
        .unwrap_or_else(new_area)
}

/// Hashes a password into a PHC string using `area` as argon2's memory.
fn hash_in(area: &mut [Block], password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut raw = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let mut salt_bytes = [0u8; 16];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    argon2()
        .hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut raw, area)
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    let params = params();
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params)
            .try_into()
            .map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&raw).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored PHC string using `area` as argon2's memory. A hash made with more
/// memory than an area holds (never one of ours) is checked the allocating way.
fn verify_in(area: &mut [Block], password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if params.block_count() > area.len() {
        return Argon2::new(algorithm, version, params)
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, area)
        .is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(&out).is_ok_and(|o| o == expected)
}

/// Hashes a password synchronously in a fresh work area (tests and the one dummy hash).
pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hash_in(&mut new_area(), password)
}

/// Checks a password against a stored PHC string synchronously in a fresh work area.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    verify_in(&mut new_area(), password, phc)
}

/// A hash of nothing in particular, verified when the account does not exist, so an unknown user
/// costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("no account has this password").expect("hash dummy"))
}

/// Hashes on the blocking pool, in one of the pool's work areas.
pub async fn hash(state: &AppState, password: String) -> anyhow::Result<String> {
    state
        .hash_pool
        .run(move |area| hash_in(area, &password))
        .await?
}

/// Verifies on the blocking pool; `None` hash means "no such user" and still costs a verification.
pub async fn verify(
    state: &AppState,
    password: String,
    phc: Option<String>,
) -> anyhow::Result<bool> {
    state
        .hash_pool
        .run(move |area| match phc {
            Some(phc) => verify_in(area, &password, &phc),
            None => {
                verify_in(area, &password, dummy_hash());
                false
            }
        })
        .await
}

/// The common-password list: passwords of at least 12 characters (shorter ones are refused by length
/// anyway) from a list of common passwords, lower-cased, sorted; see `common_passwords.md`.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether a password is a common one, after normalising: exactly on the list (any case), or, once
/// lower-cased, stripped of leading and trailing digits and symbols and with common substitutions undone
/// ([`core_forms`]), the same word as the core of a listed password. `Password123!`, `P@ssw0rd2026` and
/// `Welcome12345` are refused; a passphrase that merely contains a common word among others (`my
/// password is purple rain`) is not, because its core is the whole phrase.
pub fn is_common(password: &str) -> bool {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    static CORES: OnceLock<HashSet<String>> = OnceLock::new();
    let lower = password.to_lowercase();
    let list = LIST.get_or_init(|| COMMON_PASSWORDS.lines().collect());
    if list.binary_search(&lower.as_str()).is_ok() {
        return true;
    }
    let cores = CORES.get_or_init(|| list.iter().flat_map(|p| core_forms(p)).collect());
    core_forms(&lower).iter().any(|c| cores.contains(c))
}

/// Common substitutions undone (0→o, 3→e, 4→a, 5→s, 7→t, @→a, $→s), `1` read as `one`.
fn undo_leet(s: &str, one: char) -> String {
    s.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => one,
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            '@' => 'a',
            '$' => 's',
            c => c,
        })
        .collect()
}

/// The word a lower-cased password is built on: leading and trailing digits, symbols and spaces
/// stripped, then substitutions undone (`1` read as `i` and, as a second form, as `l`). Empty forms
/// (a password of digits and symbols only) are left out: the exact list covers the common ones.
pub fn core_forms(lower: &str) -> Vec<String> {
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.is_empty() {
        return vec![];
    }
    let (i, l) = (undo_leet(core, 'i'), undo_leet(core, 'l'));
    if i == l { vec![i] } else { vec![i, l] }
}

/// Whether a password contains `word` (lower-case), as typed or with substitutions undone:
/// `B0b.Sm1th2026!` contains `bob` and `smith`.
pub fn contains_word(password: &str, word: &str) -> bool {
    let lower = password.to_lowercase();
    lower.contains(word)
        || ['i', 'l']
            .iter()
            .any(|&one| undo_leet(&lower, one).contains(word))
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
    fn hashes_from_the_argon2_crate_verify_in_a_reused_area_and_the_other_way_round() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = argon2()
            .hash_password(b"correct horse battery staple", &salt)
            .unwrap()
            .to_string();
        let mut area = new_area();
        assert!(verify_in(
            &mut area,
            "correct horse battery staple",
            &theirs
        ));
        assert!(!verify_in(&mut area, "correct horse battery", &theirs));
        let ours = hash_in(&mut area, "correct horse battery staple").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2()
                .verify_password(b"correct horse battery staple", &parsed)
                .is_ok()
        );
        // A hash made with more memory than an area holds still verifies.
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(32 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"bigger memory", &salt)
        .unwrap()
        .to_string();
        assert!(verify_in(&mut area, "bigger memory", &big));
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let long = "a".repeat(500);
        let phc = hash_blocking(&long).unwrap();
        assert!(!verify_blocking(&"a".repeat(499), &phc));
        assert!(verify_blocking(&long, &phc));
    }

    #[test]
    fn the_common_password_list_is_long_sorted_lowercase_and_only_holds_long_passwords() {
        let list: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(list.len() >= 10_000, "{}", list.len());
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(list.iter().all(
            |p| p.to_lowercase() == *p && p.chars().count() >= crate::auth::MIN_PASSWORD_CHARS
        ));
        assert!(is_common("password1234") && is_common("123456789012"));
        assert!(!is_common("a long enough password"));
    }

    #[test]
    fn common_passwords_are_refused_after_normalising_and_passphrases_pass() {
        for weak in [
            "Password123!",
            "Welcome12345",
            "P@ssw0rd2026",
            "!!Passw0rd!!2026",
            "PASSWORD-2026-!",
            "Qwerty123456!",
            "IL0veY0u2026!!",
        ] {
            assert!(is_common(weak), "{weak}");
        }
        for strong in [
            "correct horse battery staple",
            "my password is purple rain",
            "Welcome to the jungle, 2026",
            "tree-lamp-orbit-velvet",
            "8392-1749-2281",
        ] {
            assert!(!is_common(strong), "{strong}");
        }
        assert!(contains_word("B0b.Sm1th2026!", "bob") && contains_word("B0b.Sm1th2026!", "smith"));
        assert!(contains_word("my name is LOVELACE", "lovelace"));
        assert!(!contains_word("a job well done", "bob"));
    }

    #[test]
    fn the_policy_refuses_a_common_word_with_digits_added_or_a_disguised_name_and_keeps_passphrases()
     {
        use crate::auth::{Email, NewPassword};
        let bob = Email::parse("bob.smith@example.org").unwrap();
        for weak in ["Password123!", "Welcome12345", "B0b.Sm1th2026!"] {
            assert!(NewPassword::parse(weak.into(), &bob).is_err(), "{weak}");
        }
        let e = NewPassword::parse("B0b.Sm1th2026!".into(), &bob).unwrap_err();
        assert!(e.contains("email address or name"), "{e}");
        for good in [
            "correct horse battery staple",
            "my password is purple rain",
            "Welcome to the jungle, 2026",
            "tree-lamp-orbit-velvet",
        ] {
            assert!(NewPassword::parse(good.into(), &bob).is_ok(), "{good}");
        }
    }
}
