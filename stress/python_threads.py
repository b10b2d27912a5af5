"""stress/python_threads.py: the `ticks` check from Python threads.

8 threads track shared sessions of one memory tracker (1,000,000 tracks a
thread at STRESS_SCALE=1; fewer sessions in use than in Rust, 3,000 on
`max_sessions` 2,500), while a thread moves a MockClock (with storms that
idle every session out), another logs users out (`end_user`) and ends
sessions, and the threads revive (`revive`, `resume`) what they find gone.

Checked: each tick as it comes (sequence = views + events, strictly
increasing per session as one thread sees it); at the end, per session id,
the sequences of all threads are exactly 1..n, n its last end's counter,
views and events add up; one end per life (`revivals` 0..R each once);
ends delivered = lives begun (`started + revived`) = the tracker's `ended`.
Prints one line of figures; exits 1 on any failure.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from array import array
from collections import defaultdict

import sojourn

THREADS = 8
SLOTS = 3_000
MAX_SESSIONS = 2_500
USERS = 64
IDLE = 10.0
LONG = 30 * 24 * 3600.0


def main() -> int:
    scale = float(os.environ.get("STRESS_SCALE", "1"))
    tracks = max(int(1_000_000 * scale), 2_000)
    clock = sojourn.MockClock()
    lock = threading.Lock()
    lives: dict[str, set[int]] = defaultdict(set)
    last_end: dict[str, tuple[int, int, int]] = {}
    repeated: list[str] = []
    by_reason: dict[str, int] = defaultdict(int)

    def on_end(end: sojourn.SessionEnd) -> None:
        s = end.session
        with lock:
            by_reason[end.reason] += 1
            mine = lives[s.id]
            if s.revivals in mine:
                repeated.append(f"{s.id} life {s.revivals}")
            mine.add(s.revivals)
            prev = last_end.get(s.id)
            if prev is None or prev[0] < s.revivals:
                last_end[s.id] = (s.revivals, s.view_sequence, s.event_sequence)

    tracker = sojourn.Tracker(
        unsigned_tokens=True,
        clock=clock,
        idle_timeout=IDLE,
        max_lifetime=LONG,
        retention=LONG,
        revive_window=LONG,
        max_sessions=MAX_SESSIONS,
        max_dormant=10_000_000,
        max_pending_ends=5_000_000,
        close_timeout=120,
        sweep_interval=0.005,
        on_end=on_end,
    )
    registry: list[str] = []
    reg_lock = threading.Lock()

    def register(sid: str) -> int:
        with reg_lock:
            registry.append(sid)
            return len(registry) - 1

    slots = [register(tracker.start().id) for _ in range(SLOTS)]
    stop = threading.Event()
    failures: list[str] = []
    counts = defaultdict(int)

    def clocker() -> None:
        step = 0
        while not stop.is_set():
            time.sleep(0.001)
            step += 1
            if step % 200 == 0:
                counts["storms"] += 1
                clock.advance(IDLE + 0.001)
            else:
                clock.advance(0.1)

    def chaos() -> None:
        rnd = random.Random(99)
        while not stop.is_set():
            time.sleep(0.01)
            counts["logged_out"] += tracker.end_user(f"user-{rnd.randrange(USERS)}")
            if tracker.end(registry[slots[rnd.randrange(SLOTS)]]) is not None:
                counts["ended"] += 1

    # Per thread: sequences per registry index (array of uint32), views, events.
    seen: list[dict[int, array]] = [dict() for _ in range(THREADS)]
    views: list[dict[int, int]] = [defaultdict(int) for _ in range(THREADS)]
    events: list[dict[int, int]] = [defaultdict(int) for _ in range(THREADS)]

    def work(t: int) -> None:
        rnd = random.Random(t + 1)
        mine, my_views, my_events = seen[t], views[t], events[t]
        done = misses = 0
        track = tracker.track
        try:
            while done < tracks:
                slot = rnd.randrange(SLOTS)
                idx = slots[slot]
                sid = registry[idx]
                kind = "event" if rnd.randrange(3) == 0 else "view"
                try:
                    tick = track(sid, kind)
                except sojourn.SessionNotFound:
                    misses += 1
                    bring_back(rnd, slot, idx, sid)
                    continue
                done += 1
                q = tick.sequence
                got = mine.get(idx)
                if got is None:
                    got = mine[idx] = array("I")
                if q != tick.view_sequence + tick.event_sequence or (got and got[-1] >= q):
                    failures.append(f"thread {t}: {sid} gave {q} after {got[-1] if got else None}")
                got.append(q)
                if kind == "view":
                    my_views[idx] += 1
                else:
                    my_events[idx] += 1
                if done % 1000 == 0:
                    try:
                        tracker.identify(sid, f"user-{slot % USERS}")
                    except sojourn.SessionNotFound:
                        pass
        except BaseException as e:  # reported below
            failures.append(f"thread {t}: {e!r}")
        with lock:
            counts["ticks"] += done
            counts["misses"] += misses

    def bring_back(rnd: random.Random, slot: int, idx: int, sid: str) -> None:
        if rnd.randrange(2) == 0:
            try:
                tracker.revive(sid)
                return
            except sojourn.SojournError as e:
                if e.code != "SESSION_NOT_REVIVABLE":
                    raise
                fresh = tracker.start().id
        else:
            session, outcome = tracker.resume(tracker.token(sid))
            if outcome != "started":
                assert session.id == sid
                return
            fresh = session.id
        new = register(fresh)
        with reg_lock:
            if slots[slot] == idx:
                slots[slot] = new

    helpers = [threading.Thread(target=clocker), threading.Thread(target=chaos)]
    workers = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    began = time.monotonic()
    for th in helpers + workers:
        th.start()
    for th in workers:
        th.join()
    elapsed = time.monotonic() - began
    stop.set()
    for th in helpers:
        th.join()

    tracker.sweep()
    at_last = tracker.end_all()
    dropped = tracker.close()
    stats = tracker.stats()
    fails = list(failures) + repeated
    if dropped or stats.ends_dropped:
        fails.append(f"{dropped} ends dropped at close, {stats.ends_dropped} in all")
    delivered = sum(by_reason.values())
    begun = stats.started + stats.revived
    if delivered != begun:
        fails.append(f"{delivered} ends delivered for {begun} lives")
    e = stats.ended
    if dict(by_reason) != {k: v for k, v in e.to_dict().items() if v}:
        fails.append(f"ends by reason {dict(by_reason)}, stats {e.to_dict()}")
    if stats.views + stats.events != counts["ticks"]:
        fails.append(f"{stats.views + stats.events} ticks counted, {counts['ticks']} seen")
    checked = 0
    for idx, sid in enumerate(registry):
        if sid not in last_end:
            fails.append(f"{sid}: no end")
            continue
        r, v, ev = last_end[sid]
        if lives[sid] != set(range(r + 1)):
            fails.append(f"{sid}: lives ended {sorted(lives[sid])}, expected 0..{r}")
        n = v + ev
        bits = bytearray(n + 1)
        nv = ne = 0
        for t in range(THREADS):
            nv += views[t].get(idx, 0)
            ne += events[t].get(idx, 0)
            for q in seen[t].get(idx, ()):
                checked += 1
                if q > n or bits[q]:
                    fails.append(f"{sid}: tick {q} twice or past {n}")
                    break
                bits[q] = 1
        if (nv, ne) != (v, ev) or sum(bits) != n:
            fails.append(f"{sid}: {nv} views and {ne} events seen, its last end has {v} and {ev}")
    ops = counts["ticks"] + counts["misses"]
    figures = (
        f"threads={THREADS} tracks={ops:,} ({tracks:,} a thread) ops/s={ops / elapsed:,.0f} in {elapsed:.1f}s; "
        f"ticks checked={checked:,} misses={counts['misses']:,}; departures delivered/expected={delivered:,}/{begun:,} "
        f"(idle={e.idle:,} evicted={e.evicted:,} ended={e.ended:,}; end_all={at_last}) ids={len(registry):,}; "
        f"storms={counts['storms']} logged out {counts['logged_out']:,}, ended {counts['ended']:,}"
    )
    if fails:
        print(f"stress python-threads: FAIL ({len(fails)} failures) {figures}")
        for f in fails[:20]:
            print(f"  python-threads: {f}", file=sys.stderr)
        return 1
    print(f"stress python-threads: PASS {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
