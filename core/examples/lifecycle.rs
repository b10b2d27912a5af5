//! A visit's whole lifecycle on the embedded memory store, narrated.
//! Run it with `make demo`. The clock is a mock clock that the demo moves
//! by hand, so half an hour of idleness takes no time at all.

use std::time::Duration;

use sojourn::{AttrValue, Attrs, Hints, Kind, MockClock, SessionEnd, SystemClock, Tracker};
use sojourn::{Clock, Result};

const MINUTE: Duration = Duration::from_secs(60);

fn main() -> Result<()> {
    let clock = MockClock::new(SystemClock.now_ms())?;
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .idle_timeout(30 * MINUTE)
        // Sticky sessions: a client that comes back within a week keeps its
        // session and counters (the default window is the idle timeout).
        .revive_window(7 * 24 * 60 * MINUTE)
        .retention(7 * 24 * 60 * MINUTE)
        .secret("demo-secret-do-not-use-in-production")
        .on_end(print_end)
        // No background driver: the demo delivers ends itself with sweep(),
        // so that they print in the order of the story.
        .sweep_interval(Duration::ZERO)
        .build()?;

    println!("1. A visitor arrives holding no token.");
    let entry: Attrs = [
        ("entry_page".to_owned(), AttrValue::from("/pricing")),
        (
            "referrer".to_owned(),
            AttrValue::from("https://news.example/"),
        ),
        ("utm_source".to_owned(), AttrValue::from("newsletter")),
    ]
    .into();
    let hints = Hints {
        attrs: Some(entry),
        ..Hints::default()
    };
    let (session, outcome) = tracker.resume(None, hints)?;
    println!(
        "   {outcome}: session {} (index {})",
        session.id, session.session_index
    );
    println!(
        "   the client keeps the signed token {}…",
        &session.token[..48]
    );

    println!("2. It reads three pages and clicks once, then logs in.");
    for page in ["/pricing", "/docs", "/signup"] {
        let tick = tracker.track(session.id, Kind::View)?;
        println!(
            "   view {page:<8} -> view #{}, sequence {}",
            tick.view_sequence, tick.sequence
        );
        clock.advance(MINUTE)?;
    }
    let tick = tracker.track(session.id, Kind::Event)?;
    println!(
        "   event click    -> event #{}, sequence {}",
        tick.event_sequence, tick.sequence
    );
    tracker.identify(session.id, "user-42")?;
    println!("   identified as user-42");

    println!("3. The tab sits idle for 45 minutes; the sweep reports the end:");
    clock.advance(45 * MINUTE)?;
    tracker.sweep()?;

    println!("4. The visitor comes back the next day with its token.");
    clock.advance(20 * 60 * MINUTE)?;
    let (back, outcome) = tracker.resume(Some(&session.token), Hints::default())?;
    println!(
        "   {outcome}: same id {}, revivals {}, user {}",
        back.id == session.id,
        back.revivals,
        back.user_id.as_deref().unwrap_or("-")
    );
    let tick = tracker.track(back.id, Kind::View)?;
    println!(
        "   view /account -> view #{}, sequence {} (counting on)",
        tick.view_sequence, tick.sequence
    );

    println!(
        "5. A server restart forgets everything; the client's token and counters bring it back."
    );
    let restarted = Tracker::builder()
        .clock(clock.clone())
        .secret("demo-secret-do-not-use-in-production")
        .on_end(print_end)
        .sweep_interval(Duration::ZERO)
        .build()?;
    let hints = Hints {
        view_sequence: tick.view_sequence,
        event_sequence: tick.event_sequence,
        ..Hints::default()
    };
    let (again, outcome) = restarted.resume(Some(&session.token), hints)?;
    println!(
        "   {outcome}: same id {}, views {}, events {}",
        again.id == session.id,
        again.view_sequence,
        again.event_sequence
    );

    println!("6. A forged token starts a fresh session and is counted as rejected.");
    let forged = format!("{}.forged-signature", session.id);
    let (fresh, outcome) = restarted.resume(Some(&forged), Hints::default())?;
    println!("   {outcome}: new id {}", fresh.id != session.id);

    println!("7. The user logs out everywhere:");
    restarted.identify(again.id, "user-42")?;
    let ended = restarted.end_user("user-42")?;
    restarted.sweep()?;
    println!("   {ended} session ended");

    let stats = restarted.stats()?;
    println!(
        "8. After the restart: {} live, {} started, {} revived, {} rejected, {} ended.",
        stats.live, stats.started, stats.revived, stats.rejected, stats.ended.ended
    );
    tracker.close();
    restarted.close();
    Ok(())
}

fn print_end(end: SessionEnd) {
    let s = &end.session;
    println!(
        "   on_end: {} {} after {} min: {} views, {} events, user {}, revivable {}",
        s.id,
        end.reason,
        end.duration.as_secs() / 60,
        s.view_sequence,
        s.event_sequence,
        s.user_id.as_deref().unwrap_or("-"),
        end.revivable
    );
}
