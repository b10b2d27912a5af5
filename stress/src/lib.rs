//! What the stress checks share: the scale, figures, RSS, a small fast
//! random number generator, and the end of a check (PASS or the failures).

use std::time::Duration;

/// The scale of a run, from `STRESS_SCALE` (1 = the full run of `make
/// stress`; `make stress-smoke` gives 0.001). A count of the full run is
/// multiplied by it ([`scaled`]), never below a check's own minimum.
pub fn scale() -> f64 {
    match std::env::var("STRESS_SCALE") {
        Ok(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| *x > 0.0 && x.is_finite())
            .unwrap_or_else(|| panic!("STRESS_SCALE={s:?} is not a positive number")),
        Err(_) => 1.0,
    }
}

/// `full` times the scale, at least `min`.
pub fn scaled(full: u64, min: u64) -> u64 {
    ((full as f64 * scale()).round() as u64).max(min)
}

/// A duration of the full run times the scale, at least `min`.
pub fn scaled_duration(full: Duration, min: Duration) -> Duration {
    full.mul_f64(scale()).max(min)
}

/// This process's resident set, in bytes (`/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("statm's resident field");
    pages * 4096
}

/// xorshift64*: fast, and seeded per thread; no cryptography wanted.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value; 0 is moved).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// The failures of a check, gathered rather than panicking at the first,
/// so that the figures line says how many and the first few.
#[derive(Debug, Default)]
pub struct Failures {
    count: u64,
    first: Vec<String>,
}

impl Failures {
    /// Records a failure (the first 20 are kept to print).
    pub fn fail(&mut self, what: impl Into<String>) {
        self.count += 1;
        if self.first.len() < 20 {
            self.first.push(what.into());
        }
    }

    /// Records `what` unless `ok`.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(what());
        }
    }

    /// Failures so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Prints the figures line of check `name` and exits: 0 when nothing
    /// failed, 1 (after the first failures, on standard error) otherwise.
    pub fn finish(self, name: &str, figures: &str) -> ! {
        if self.count == 0 {
            println!("stress {name}: PASS {figures}");
            std::process::exit(0);
        }
        println!("stress {name}: FAIL ({} failures) {figures}", self.count);
        for f in &self.first {
            eprintln!("  {name}: {f}");
        }
        std::process::exit(1);
    }
}

/// `n` with thousands separators, for the figures lines.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
