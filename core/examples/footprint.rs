//! A rough first look at speed and memory, until `bench/` compares the
//! peers side by side: `cargo run --release -p sojourn --example footprint`.
//! The mix is W1's (DESIGN.md): 60% track view, 20% track event, 10% get,
//! 5% start, 4% identify, 1% revive of an unknown uuid4 id.

use std::time::{Duration, Instant};

use sojourn::{Hints, Kind, SessionId, Tracker};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() -> sojourn::Result<()> {
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };

    let tracker = Tracker::builder().sweep_interval(Duration::ZERO).build()?;
    let mut ids = Vec::with_capacity(200_000);
    for _ in 0..100_000 {
        ids.push(tracker.start(None, None)?.id);
    }
    let ops: Vec<(u64, usize)> = (0..1_000_000)
        .map(|_| (next() % 100, next() as usize))
        .collect();
    let n_revives = ops.iter().filter(|(op, _)| *op == 99).count();
    let unknown: Vec<SessionId> = (0..n_revives)
        .map(|_| {
            let bits =
                (u128::from(next()) << 64 | u128::from(next())) & !(0xf << 76) & !(0b11 << 62);
            SessionId::from_u128(bits | (0x4 << 76) | (0b10 << 62)).expect("a v4 id")
        })
        .collect();

    let started = Instant::now();
    let mut revives = 0;
    for &(op, r) in &ops {
        let id = ids[r % ids.len()];
        match op {
            0..60 => drop(tracker.track(id, Kind::View)?),
            60..80 => drop(tracker.track(id, Kind::Event)?),
            80..90 => drop(tracker.get(id)?),
            90..95 => ids.push(tracker.start(None, None)?.id),
            95..99 => drop(tracker.identify(id, "user-1")?),
            _ => {
                tracker.revive(unknown[revives], Hints::default())?;
                revives += 1;
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "W1 mix, one thread: {:.0} ops/s",
        ops.len() as f64 / elapsed.as_secs_f64()
    );

    let fresh = Tracker::builder().sweep_interval(Duration::ZERO).build()?;
    let before = rss_bytes();
    for _ in 0..1_000_000 {
        fresh.start(None, None)?;
    }
    println!(
        "memory: {} bytes per live session",
        (rss_bytes() - before) / 1_000_000
    );
    Ok(())
}
