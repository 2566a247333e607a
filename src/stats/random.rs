//! Value-stable random integers: the one rejection sampler behind ping schedules and the survey sample.
//!
//! Our own rather than `rand`'s `random_range`, whose algorithm has changed between releases: a stored
//! schedule or sample must be re-drawable from its seed years later, and the ChaCha stream is a stable spec.
use rand::RngCore;

/// Uniform integer in `0..n` by rejection sampling on `next_u64`; `n <= 1` gives 0 and draws nothing.
///
/// Values below `2^64 mod n` are rejected, leaving a range whose size is a multiple of `n`, hence no
/// modulo bias.
pub fn uniform_below(rng: &mut impl RngCore, n: u64) -> u64 {
    debug_assert!(n > 0, "uniform_below needs a non-empty range");
    if n <= 1 {
        return 0;
    }
    let threshold = n.wrapping_neg() % n; // == 2^64 mod n
    loop {
        let x = rng.next_u64();
        if x >= threshold {
            return x % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn uniform_below_is_unbiased_and_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[uniform_below(&mut rng, 7) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_400..=10_600).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(uniform_below(&mut rng, 1), 0);
        // A range just over 2^63 rejects almost half the stream; still terminates.
        let big = (1u64 << 63) + 1;
        assert!(uniform_below(&mut rng, big) < big);
    }

    #[test]
    fn one_choice_draws_nothing_from_the_stream() {
        let (mut a, mut b) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
        assert_eq!(uniform_below(&mut a, 1), 0);
        assert_eq!(a.next_u64(), b.next_u64());
    }
}
