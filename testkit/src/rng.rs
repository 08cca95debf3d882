//! SplitMix64, the seeded generator behind every random input of the tests,
//! the benches and the command-line tool.

/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): a 64-bit state advanced by a Weyl sequence and
/// scrambled by a variant of the MurmurHash3 finaliser.
///
/// Small, fast and fully reproducible from its seed, which is all tests and
/// benchmarks need; not for cryptography. The tuple field is the state:
/// `SplitMix64(seed)` and [`SplitMix64::new`]`(seed)` are the same generator.
///
/// ```
/// use bsfit_testkit::SplitMix64;
///
/// let mut a = SplitMix64::new(42);
/// let mut b = SplitMix64(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// let u = a.next_f64();
/// assert!((0.0..1.0).contains(&u));
/// let x = a.uniform(-1.0, 1.0);
/// assert!((-1.0..1.0).contains(&x));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`: the top 53 bits, so every value is a multiple of
    /// `2⁻⁵³`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, 1)` in single precision: the top 24 bits, so every
    /// value is a multiple of `2⁻²⁴`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`: `lo + (hi − lo) · u` with `u` from
    /// [`next_f64`](Self::next_f64).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// `n` values from [`uniform`](Self::uniform)`(lo, hi)`.
    pub fn uniform_vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// An integer in `lo..=hi` (by reduction modulo the range's size: a bias
    /// of at most `(hi − lo + 1) / 2⁶⁴`, irrelevant for test inputs).
    ///
    /// # Panics
    /// If `hi < lo`.
    pub fn usize_inclusive(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo <= hi, "empty range {lo}..={hi}");
        let size = ((hi - lo) as u64).wrapping_add(1);
        lo + if size == 0 {
            self.next_u64() as usize
        } else {
            (self.next_u64() % size) as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn reference_sequence() {
        // First outputs for seed 1234567 of the reference implementation
        // (Vigna, splitmix64.c).
        let mut r = SplitMix64::new(1_234_567);
        let expected = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
            4_593_380_528_125_082_431,
            16_408_922_859_458_223_821,
        ];
        for e in expected {
            assert_eq!(r.next_u64(), e);
        }
    }

    #[test]
    fn ranges() {
        let mut r = SplitMix64::new(9);
        for _ in 0..10_000 {
            let u = r.next_f64();
            assert!((0.0..1.0).contains(&u));
            let f = r.next_f32();
            assert!((0.0..1.0).contains(&f));
            let x = r.uniform(-2.0, 3.0);
            assert!((-2.0..3.0).contains(&x));
            let k = r.usize_inclusive(3, 7);
            assert!((3..=7).contains(&k));
        }
        assert_eq!(r.usize_inclusive(5, 5), 5);
        assert_eq!(r.uniform_vec(17, 0.0, 1.0).len(), 17);
    }

    #[test]
    fn uniform_on_minus_one_one_is_the_scaled_bits() {
        // `uniform(-1, 1)` equals `k / 2⁵² − 1` for the top 53 bits `k`, the
        // form several generators of 3D fields used.
        let (mut a, mut b) = (SplitMix64::new(5), SplitMix64::new(5));
        for _ in 0..1000 {
            let k = b.next_u64() >> 11;
            assert_eq!(a.uniform(-1.0, 1.0), k as f64 / (1u64 << 52) as f64 - 1.0);
        }
    }
}
