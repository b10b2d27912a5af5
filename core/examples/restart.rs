//! A deploy that loses nothing: the tracker keeps its own snapshot, the
//! process stops, and the next one goes on with every session. Run with
//! `make demo`. The clock is a mock clock moved by hand, so that 40
//! minutes of downtime take no time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sojourn::{AttrValue, Clock, Kind, MockClock, Result, SessionEnd, SystemClock, Tracker};

const MINUTE: Duration = Duration::from_secs(60);

fn process(clock: &MockClock, file: &std::path::Path, ends: &Arc<AtomicUsize>) -> Result<Tracker> {
    let ended = Arc::clone(ends);
    Tracker::builder()
        .clock(clock.clone())
        .secret("demo-secret-do-not-use-in-production")
        .idle_timeout(30 * MINUTE)
        .revive_window(7 * 24 * 60 * MINUTE)
        .snapshot(file)
        .sweep_interval(Duration::ZERO)
        .on_end(move |end: SessionEnd| {
            ended.fetch_add(1, Ordering::Relaxed);
            println!(
                "   on_end: {} {} at its deadline, after {} views",
                end.session.id, end.reason, end.session.view_sequence
            )
        })
        .build()
}

fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("sojourn-restart-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let file = dir.join("sessions.snap");
    let clock = MockClock::new(SystemClock.now_ms())?;

    println!("1. Before the deploy: two visitors.");
    let ends = Arc::new(AtomicUsize::new(0));
    let before = process(&clock, &file, &ends)?;
    let attrs = [("plan".to_owned(), AttrValue::from("pro"))].into();
    let ann = before.start(Some("ann"), Some(attrs))?;
    before.track(ann.id, Kind::View)?;
    let idle = before.start(None, None)?.id;
    println!(
        "   ann's session {} (1 view), and {idle}, idle since",
        ann.id
    );
    clock.advance(10 * MINUTE)?;
    before.track(ann.id, Kind::View)?;
    println!("2. The process stops: close() saves the snapshot.");
    before.close();
    drop(before);

    clock.advance(25 * MINUTE)?;
    println!("3. 25 minutes later the new process starts from the snapshot;");
    println!("   the idle session ran out meanwhile and is reported now:");
    let after = process(&clock, &file, &ends)?;
    after.sweep()?;
    let (session, outcome) = after.resume(Some(&ann.token), Default::default())?;
    let tick = after.track(session.id, Kind::View)?;
    println!(
        "4. ann comes back: {outcome}, user {}, plan {}, view #{}",
        session.user_id.as_deref().unwrap_or("-"),
        session
            .attrs
            .get("plan")
            .map(|v| v.to_string())
            .unwrap_or_default(),
        tick.view_sequence
    );
    after.close();
    // `make test` runs this demo too: what it tells must be so.
    assert_eq!(outcome, sojourn::Outcome::Existing);
    assert_eq!(
        (session.user_id.as_deref(), tick.view_sequence),
        (Some("ann"), 3)
    );
    assert_eq!(ends.load(Ordering::Relaxed), 1, "the idle session, once");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
