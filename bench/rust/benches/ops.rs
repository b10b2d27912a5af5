//! One Criterion bench per core operation and per resume path, on a tracker
//! holding 100,000 sessions: `cargo bench --bench ops` in bench/rust.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sojourn::{AttrValue, Attrs, Hints, Kind, SessionId, Tracker};

const SESSIONS: usize = 100_000;

fn setup() -> (Tracker, Vec<SessionId>) {
    let tracker = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    let ids = (0..SESSIONS)
        .map(|_| tracker.start(None, None).unwrap().id)
        .collect();
    (tracker, ids)
}

fn uuid4(n: u64) -> SessionId {
    let bits = (u128::from(n) << 64) | u128::from(n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    SessionId::from_u128((bits & !(0xf << 76) & !(0b11 << 62)) | (0x4 << 76) | (0b10 << 62))
        .unwrap()
}

fn operations(c: &mut Criterion) {
    let (tracker, ids) = setup();
    let mut i = 0usize;
    let mut next = || {
        i = (i + 7919) % SESSIONS;
        ids[i]
    };
    let mut g = c.benchmark_group("op");
    g.bench_function("track_view", |b| {
        b.iter(|| black_box(tracker.track(next(), Kind::View).unwrap()))
    });
    g.bench_function("get", |b| b.iter(|| black_box(tracker.get(next()))));
    g.bench_function("peek", |b| b.iter(|| black_box(tracker.peek(next()))));
    g.bench_function("exists", |b| b.iter(|| black_box(tracker.exists(next()))));
    g.bench_function("track_event", |b| {
        b.iter(|| black_box(tracker.track(next(), Kind::Event).unwrap()))
    });
    let batch: Vec<SessionId> = (0..100).map(|_| next()).collect();
    g.bench_function("track_many_100", |b| {
        b.iter(|| black_box(tracker.track_many(&batch, Kind::View)))
    });
    g.bench_function("count", |b| b.iter(|| black_box(tracker.count(None))));
    for id in &batch[..5] {
        tracker.identify(*id, "five").unwrap();
    }
    g.bench_function("count_user", |b| {
        b.iter(|| black_box(tracker.count(Some("five"))))
    });
    g.bench_function("sessions_user", |b| {
        b.iter(|| black_box(tracker.sessions(Some("five"))))
    });
    g.bench_function("stats", |b| b.iter(|| black_box(tracker.stats())));
    g.bench_function("sweep_nothing_due", |b| {
        b.iter(|| black_box(tracker.sweep()))
    });
    g.bench_function("identify", |b| {
        b.iter(|| black_box(tracker.identify(next(), "user-1").unwrap()))
    });
    let attrs: Attrs = [("page".to_owned(), AttrValue::from("/pricing"))].into();
    g.bench_function("set_attrs", |b| {
        b.iter(|| black_box(tracker.set_attrs(next(), attrs.clone()).unwrap()))
    });
    g.bench_function("start", |b| {
        b.iter(|| black_box(tracker.start(None, None).unwrap()))
    });
    g.bench_function("start_end", |b| {
        b.iter(|| {
            let s = tracker.start(None, None).unwrap();
            black_box(tracker.end(s.id))
        })
    });
    let mut n = 0u64;
    g.bench_function("revive_unknown", |b| {
        b.iter(|| {
            n += 1;
            black_box(tracker.revive(uuid4(n), Hints::default()).unwrap())
        })
    });
    g.bench_function("reassign_user", |b| {
        b.iter_batched(
            || {
                let s = tracker.start(Some("anonymous"), None).unwrap();
                s.id
            },
            |_| black_box(tracker.reassign_user("anonymous", "known").unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("end_user", |b| {
        b.iter_batched(
            || tracker.start(Some("leaving"), None).unwrap().id,
            |_| black_box(tracker.end_user("leaving")),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn resume_paths(c: &mut Criterion) {
    let (tracker, ids) = setup();
    let signed = Tracker::builder()
        .sweep_interval(Duration::ZERO)
        .secret("a benchmark secret of 32 bytes!!")
        .build()
        .unwrap();
    let signed_token = signed.start(None, None).unwrap().token;
    let mut g = c.benchmark_group("resume");
    let mut i = 0usize;
    g.bench_function("existing", |b| {
        b.iter(|| {
            i = (i + 7919) % SESSIONS;
            black_box(
                tracker
                    .resume(Some(&ids[i].to_string()), Hints::default())
                    .unwrap(),
            )
        })
    });
    g.bench_function("existing_signed", |b| {
        b.iter(|| {
            black_box(
                signed
                    .resume(Some(&signed_token), Hints::default())
                    .unwrap(),
            )
        })
    });
    g.bench_function("started_no_token", |b| {
        b.iter(|| black_box(tracker.resume(None, Hints::default()).unwrap()))
    });
    g.bench_function("started_rejected", |b| {
        b.iter(|| black_box(tracker.resume(Some("garbage"), Hints::default()).unwrap()))
    });
    // A session that ended: the client's token starts a new, linked one.
    let ended = tracker.start(None, None).unwrap();
    tracker.end(ended.id).unwrap();
    g.bench_function("started_linked", |b| {
        b.iter(|| {
            black_box(
                tracker
                    .resume(Some(&ended.token), Hints::default())
                    .unwrap(),
            )
        })
    });
    let mut n = 1u64 << 40;
    g.bench_function("revived_unknown", |b| {
        b.iter(|| {
            n += 1;
            black_box(
                tracker
                    .resume(Some(&uuid4(n).to_string()), Hints::default())
                    .unwrap(),
            )
        })
    });
    // A session pushed out by the capacity bound comes back from its dormant record.
    let small = Tracker::builder()
        .unsigned_tokens(true)
        .sweep_interval(Duration::ZERO)
        .max_sessions(1)
        .build()
        .unwrap();
    g.bench_function("revived_dormant", |b| {
        b.iter_batched(
            || {
                let a = small.start(None, None).unwrap();
                small.start(None, None).unwrap();
                a.token
            },
            |token| black_box(small.resume(Some(&token), Hints::default()).unwrap()),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, operations, resume_paths);
criterion_main!(benches);
