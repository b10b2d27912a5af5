"""Replays W1 (or W2) with one Python contender and prints one JSON line.

    python bench/python/w1.py WORKLOAD CONTENDER [--runs R] [--memory N]

A W2 file (the restart storm) is replayed with its returning visitors
revived first, each with its counter hints, inside the timed part.

CONTENDER is `sojourn`, `dict` or `ttlcache`. With `--memory N` it
measures RSS growth per session over N starts instead.
"""

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import peers  # noqa: E402
from workload import load  # noqa: E402


def make(name):
    """The contender and the two values its `track` takes for a view and an event."""
    if name == "sojourn":
        import sojourn

        return sojourn.Tracker(unsigned_tokens=True), "view", "event"
    if name == "dict":
        return peers.DictTracker(), True, False
    if name == "ttlcache":
        return peers.TTLCacheTracker(), True, False
    raise SystemExit(f"unknown contender {name}")


def replay(contender, w):
    c, view, event = contender
    start, track, get, identify, revive = c.start, c.track, c.get, c.identify, c.revive
    ids = [start().id for _ in range(w.prestart)]
    users, revives = w.users, w.revives
    next_revive = 0
    gc.collect()
    began = time.perf_counter()
    for id, views, events in w.returning:
        ids.append(revive(id, view_sequence=views, event_sequence=events).id)
    for op, t, u in zip(w.ops, w.target, w.user):
        if op == 0:
            track(ids[t], view)
        elif op == 1:
            track(ids[t], event)
        elif op == 2:
            get(ids[t])
        elif op == 3:
            ids.append(start().id)
        elif op == 4:
            identify(ids[t], users[u])
        else:
            revive(revives[next_revive])
            next_revive += 1
    return (len(w.returning) + len(w.ops)) / (time.perf_counter() - began)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(contender, n):
    c = contender[0]
    gc.collect()
    before = rss_bytes()
    start = c.start
    for _ in range(n):
        start()
    gc.collect()
    return (rss_bytes() - before) / n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("contender")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--memory", type=int)
    args = parser.parse_args()
    if args.memory:
        bytes_per = memory(make(args.contender), args.memory)
        print(json.dumps({"contender": args.contender, "sessions": args.memory, "bytes_per_session": bytes_per}))
        return
    w = load(args.workload)
    runs = [replay(make(args.contender), w) for _ in range(args.runs)]
    print(json.dumps({"contender": args.contender, "threads": 1, "ops_per_sec": runs}))


if __name__ == "__main__":
    main()
