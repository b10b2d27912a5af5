"""Sessions that keep expiring: how many session ends per second reach a
Python `on_end` callback. Prints one JSON line.

    python bench/python/ends.py [--sessions N] [--rounds R]

Each round starts N sessions, moves a mock clock past the idle timeout and
sweeps; only the sweeps (expiry and delivery, the callback included) are
timed.
"""

import argparse
import json
import time

import sojourn


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    delivered = []
    clock = sojourn.MockClock()
    tracker = sojourn.Tracker(unsigned_tokens=True, clock=clock, idle_timeout=1, sweep_interval=0, on_end=delivered.append)
    rates = []
    for _ in range(args.rounds):
        for _ in range(args.sessions):
            tracker.start()
        clock.advance(1)
        began = time.perf_counter()
        ended = tracker.sweep()
        elapsed = time.perf_counter() - began
        assert ended == args.sessions, ended
        rates.append(ended / elapsed)
    assert len(delivered) == args.sessions * args.rounds
    print(json.dumps({"language": "python", "sessions": args.sessions, "ends_per_sec": rates}))


if __name__ == "__main__":
    main()
