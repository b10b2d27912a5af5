"""One track call per event against `track_many` with batches: the speedup
of crossing into the core once per batch. Prints one JSON line.

    python bench/python/batch.py [--sessions N] [--batch B] [--runs R]
"""

import argparse
import json
import random
import time

import sojourn


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tracker = sojourn.Tracker(unsigned_tokens=True)
    ids = [tracker.start().id for _ in range(args.sessions)]
    rng = random.Random(7)
    events = [ids[rng.randrange(len(ids))] for _ in range(args.events)]
    batches = [events[i : i + args.batch] for i in range(0, len(events), args.batch)]
    single, batched = [], []
    track, track_many = tracker.track, tracker.track_many
    for _ in range(args.runs):
        began = time.perf_counter()
        for id in events:
            track(id, "view")
        single.append(len(events) / (time.perf_counter() - began))
        began = time.perf_counter()
        for batch in batches:
            track_many(batch, "view")
        batched.append(len(events) / (time.perf_counter() - began))
    tracker.close()
    print(json.dumps({"language": "python", "batch": args.batch, "single_per_sec": single, "batched_per_sec": batched}))


if __name__ == "__main__":
    main()
