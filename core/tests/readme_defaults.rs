//! The README's table of options states the core's defaults: every number
//! and duration in it is read here and checked against `Config::default()`,
//! so that a default lives once (in `core/src/config.rs`) and the table
//! cannot drift from it.

use std::time::Duration;

use sojourn::Config;

/// The rows of the README's configuration table: (option, default).
fn table() -> Vec<(String, String)> {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("| option | default | meaning |")
        .expect("the README has its configuration table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
        })
        .collect()
}

fn duration(text: &str) -> Duration {
    let (n, unit) = text
        .split_once(' ')
        .expect("a duration is a number and a unit");
    let n: u64 = n.parse().expect("a whole number");
    match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        other => panic!("unknown unit {other}"),
    }
}

fn number(text: &str) -> u64 {
    match text.strip_suffix(" KiB") {
        Some(k) => number(k) * 1024,
        None => text.replace(',', "").parse().expect("a number"),
    }
}

#[test]
fn the_readme_states_the_cores_defaults() {
    let c = Config::default();
    let rows = table();
    let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "idle_timeout",
            "max_lifetime",
            "revive_window",
            "retention",
            "max_sessions",
            "max_dormant",
            "secret` / `secrets",
            "unsigned_tokens",
            "max_counter_hint",
            "sweep_interval",
            "on_end",
            "max_pending_ends",
            "close_timeout",
            "max_attrs_bytes",
            "clock",
            "store",
            "redis` / `redis_cluster",
            "key_prefix",
            "store_timeout",
            "load",
            "snapshot",
            "snapshot_interval",
            "snapshot_key",
        ]
    );
    for (name, default) in &rows {
        let default = default.as_str();
        match name.as_str() {
            "idle_timeout" => assert_eq!(duration(default), c.idle_timeout),
            "max_lifetime" => assert_eq!(duration(default), c.max_lifetime),
            "retention" => assert_eq!(duration(default), c.retention),
            "sweep_interval" => assert_eq!(duration(default), c.sweep_interval),
            "close_timeout" => assert_eq!(duration(default), c.close_timeout),
            "revive_window" => {
                assert_eq!((default, c.revive_window), ("`idle_timeout`", None));
            }
            "max_sessions" => assert_eq!(number(default), c.max_sessions as u64),
            "max_dormant" => assert_eq!(number(default), c.max_dormant as u64),
            "max_counter_hint" => assert_eq!(number(default), c.max_counter_hint),
            "max_pending_ends" => assert_eq!(number(default), c.max_pending_ends as u64),
            "max_attrs_bytes" => assert_eq!(number(default), c.max_attrs_bytes as u64),
            "unsigned_tokens" => assert_eq!((default, c.unsigned_tokens), ("false", false)),
            "secret` / `secrets" => assert_eq!((default, &c.secrets), ("none", &None)),
            "on_end" => assert_eq!((default, c.on_end.is_none()), ("none", true)),
            "store" => assert_eq!((default, c.store.is_none()), ("memory store", true)),
            "clock" => assert_eq!(default, "system clock"),
            "redis` / `redis_cluster" => assert_eq!((default, &c.redis), ("none", &None)),
            "key_prefix" => assert_eq!(default.trim_matches('`'), c.key_prefix),
            "store_timeout" => assert_eq!(duration(default), c.store_timeout),
            "snapshot_interval" => assert_eq!(duration(default), c.snapshot_interval),
            "load" => assert_eq!((default, &c.load), ("none", &None)),
            "snapshot" => assert_eq!((default, &c.snapshot), ("none", &None)),
            "snapshot_key" => assert_eq!((default, c.snapshot_key.is_none()), ("none", true)),
            other => panic!("the table has an option the test does not know: {other}"),
        }
    }
}

#[test]
fn the_parsers_can_fail() {
    assert_eq!(duration("30 min"), Duration::from_secs(1800));
    assert_eq!(duration("250 ms"), Duration::from_millis(250));
    assert_ne!(duration("24 h"), Duration::from_secs(3600));
    assert_eq!(number("4 KiB"), 4096);
    assert_eq!(number("1,000,000"), 1_000_000);
}

/// The Node README's table: durations in milliseconds, camelCase names.
#[test]
fn the_node_readme_states_the_cores_defaults() {
    let c = Config::default();
    let readme = include_str!("../../node/README.md");
    let start = readme
        .find("| option | default | meaning |")
        .expect("the Node README has its options table");
    let ms = |d: Duration| d.as_millis() as u64;
    let mut seen = Vec::new();
    for line in readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, default) = (cells[1].trim_matches('`'), cells[2]);
        // "1,800,000 (30 min)": the number is what counts.
        let first = default.split(" (").next().unwrap_or(default);
        let value = || number(first);
        match name {
            "idleTimeout" => assert_eq!(value(), ms(c.idle_timeout)),
            "maxLifetime" => assert_eq!(value(), ms(c.max_lifetime)),
            "retention" => assert_eq!(value(), ms(c.retention)),
            "sweepInterval" => assert_eq!(value(), ms(c.sweep_interval)),
            "closeTimeout" => assert_eq!(value(), ms(c.close_timeout)),
            "maxSessions" => assert_eq!(value(), c.max_sessions as u64),
            "maxDormant" => assert_eq!(value(), c.max_dormant as u64),
            "maxCounterHint" => assert_eq!(value(), c.max_counter_hint),
            "maxPendingEnds" => assert_eq!(value(), c.max_pending_ends as u64),
            "maxAttrsBytes" => assert_eq!(value(), c.max_attrs_bytes as u64),
            "reviveWindow" => assert_eq!(default, "`idleTimeout`"),
            "unsignedTokens" => assert_eq!(default, "`false`"),
            "snapshotInterval" => assert_eq!(value(), ms(c.snapshot_interval)),
            "secret` / `secrets" | "onEnd" | "faultSwitch" | "load" | "snapshot"
            | "snapshotKey" => {
                assert_eq!(default, "none")
            }
            "clock" => assert_eq!(default, "the system clock"),
            other => panic!("the Node table has an option the test does not know: {other}"),
        }
        seen.push(name.to_owned());
    }
    assert_eq!(seen.len(), 20, "every option: {seen:?}");
}
