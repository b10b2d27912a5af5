"""Each operation alone, Sojourn against the plain-dict peer, in one process,
and prints one JSON line: nanoseconds an operation, the median of the runs.

    python bench/python/ops.py [--runs R] [--ops N] [--only OP,OP]

For every operation and run, each contender gets a fresh tracker holding
SESSIONS live sessions (started before the clock), and its arguments are
made before the clock runs; then N calls, on sessions drawn at random
(seeded), are timed through the same loop for both. The contenders take
turns within a run, so that a drift of the machine touches both.
"""

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402

SESSIONS = 100_000
USERS = 10_000
SECRET = b"bench-secret-of-thirty-two-bytes"


def sojourn_tracker(signed=False):
    import sojourn

    if signed:
        return sojourn.Tracker(secret=SECRET)
    return sojourn.Tracker(unsigned_tokens=True)


def peer_tracker(signed=False):
    return peers.SignedDictTracker(SECRET) if signed else peers.DictTracker()


def token_of(contender, session, signed):
    if isinstance(contender, peers.DictTracker):
        return contender.token(session.id) if signed else session.id
    return session.token


# Each loop takes the bound method and its prepared arguments; the same loop
# runs both contenders.
def loop_one(f, args):
    for a in args:
        f(a)


def loop_kind(f, args, kind):
    for a in args:
        f(a, kind)


def loop_two(f, args):
    for a, b in args:
        f(a, b)


def loop_none(f, n):
    for _ in range(n):
        f()


def loop_hints(f, args):
    for a, v, e in args:
        f(a, view_sequence=v, event_sequence=e)


def unknown_ids(rng, n):
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def prepare(op, c, is_peer, rng, n):
    """The loop and its arguments for `op` on `c`, whose sessions are started."""
    signed = op == "resume_signed"
    live = [c.start() for _ in range(SESSIONS)]
    ids = [s.id for s in live]
    pick = [rng.randrange(SESSIONS) for _ in range(n)]
    if op == "track":
        return loop_kind, (c.track, [ids[i] for i in pick], True if is_peer else "view")
    if op in ("get", "peek"):
        return loop_one, (getattr(c, op), [ids[i] for i in pick])
    if op == "identify":
        return loop_two, (c.identify, [(ids[i], f"user-{rng.randrange(USERS)}") for i in pick])
    if op == "start":
        return loop_none, (c.start, n)
    if op == "revive_unknown":
        return loop_one, (c.revive, unknown_ids(rng, n))
    if op == "revive_hints":
        hints = [(i, rng.randint(1, 30), rng.randint(0, 60)) for i in unknown_ids(rng, n)]
        return loop_hints, (c.revive, hints)
    if op in ("resume_existing", "resume_signed"):
        tokens = [token_of(c, live[i], signed) for i in pick]
        return loop_one, (c.resume, tokens)
    if op == "resume_revived":
        hints = [(i, rng.randint(1, 30), rng.randint(0, 60)) for i in unknown_ids(rng, n)]
        return loop_hints, (c.resume, hints)
    raise SystemExit(f"unknown op {op}")


OPS = [
    "track",
    "get",
    "peek",
    "identify",
    "start",
    "revive_unknown",
    "revive_hints",
    "resume_existing",
    "resume_signed",
    "resume_revived",
]


def measure(op, n, runs):
    times = {"sojourn": [], "dict": []}
    for run in range(runs):
        for name in ("sojourn", "dict") if run % 2 == 0 else ("dict", "sojourn"):
            is_peer = name == "dict"
            signed = op == "resume_signed"
            c = peer_tracker(signed) if is_peer else sojourn_tracker(signed)
            loop, args = prepare(op, c, is_peer, random.Random(run), n)
            gc.collect()
            began = time.perf_counter()
            loop(*args)
            times[name].append((time.perf_counter() - began) / n * 1e9)
            del c, args
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--only")
    args = parser.parse_args()
    ops = args.only.split(",") if args.only else OPS
    print(json.dumps({"sessions": SESSIONS, "ns_per_op": {op: measure(op, args.ops, args.runs) for op in ops}}))


if __name__ == "__main__":
    main()
