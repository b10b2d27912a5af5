"""Replays the start of W1 on Redis from one process or several, and prints
one JSON line: bench/rust/src/bin/redis_w1.rs in Python.

    python bench/python/redis_w1.py WORKLOAD CONTENDER URL [--ops N]
        [--prestart P] [--processes K] [--runs R]

CONTENDER is `sojourn` (`sojourn.Tracker(redis_url=...)`) or `redis-py`
(what a user writes with redis-py: a hash a session, each operation one
pipeline of HSET/HINCRBY and PEXPIRE, the TTL as the idle timeout; no end
is ever reported). The sessions are made before the clock runs under ids
every process derives alike; each process then replays its K-th of the
operations; the figure is all operations over the time from the first
process's start to the last one's end.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workload import load  # noqa: E402

IDLE_MS = 30 * 60 * 1000


def derived(i):
    """The i-th prestarted session's id: a uuid4 every process derives alike."""
    return str(uuid.UUID(bytes=hashlib.md5(str(i).encode()).digest(), version=4))


class RedisPyTracker:
    """What a user writes with redis-py."""

    def __init__(self, url, prefix):
        import redis

        self.r = redis.Redis.from_url(url)
        self.prefix = prefix

    def _create(self, id):
        now = int(time.time() * 1000)
        key = f"{self.prefix}:{id}"
        p = self.r.pipeline(transaction=False)
        p.hset(key, mapping={"started_at": now, "last_seen": now, "views": 0, "events": 0})
        p.pexpire(key, IDLE_MS)
        p.execute()
        return id

    def start(self):
        return self._create(str(uuid.uuid4()))

    def revive(self, id):
        return self._create(id)

    def track(self, id, kind):
        key = f"{self.prefix}:{id}"
        p = self.r.pipeline(transaction=False)
        p.hincrby(key, "views" if kind == "view" else "events", 1)
        p.hset(key, "last_seen", int(time.time() * 1000))
        p.pexpire(key, IDLE_MS)
        return p.execute()[0]

    def get(self, id):
        return self.r.hgetall(f"{self.prefix}:{id}")

    def identify(self, id, user):
        key = f"{self.prefix}:{id}"
        p = self.r.pipeline(transaction=False)
        p.hset(key, "user_id", user)
        p.pexpire(key, IDLE_MS)
        p.execute()


class SojournTracker:
    """sojourn on the Redis store; `start` and `revive` give the id."""

    def __init__(self, url, prefix):
        import sojourn

        self.t = sojourn.Tracker(unsigned_tokens=True, redis_url=url, key_prefix=prefix)
        self.track, self.get, self.identify = self.t.track, self.t.get, self.t.identify

    def start(self):
        return str(self.t.start().id)

    def revive(self, id):
        self.t.revive(id)
        return id


def make(name, url, prefix):
    if name == "sojourn":
        return SojournTracker(url, prefix)
    if name == "redis-py":
        return RedisPyTracker(url, prefix)
    raise SystemExit(f"unknown contender {name}")


def part(c, w, k, n, ops, prestart):
    ids = [derived(i) for i in range(prestart)]
    chunk = -(-ops // n)
    lo, hi = k * chunk, min((k + 1) * chunk, ops)
    revive_at = w.ops[:lo].count(5)
    track, get, identify, revive, start = c.track, c.get, c.identify, c.revive, c.start
    began = time.time_ns()
    for i in range(lo, hi):
        op, t = w.ops[i], w.target[i] % len(ids)
        if op == 0:
            track(ids[t], "view")
        elif op == 1:
            track(ids[t], "event")
        elif op == 2:
            get(ids[t])
        elif op == 3:
            ids.append(start())
        elif op == 4:
            identify(ids[t], w.users[w.user[i]])
        else:
            revive(w.revives[revive_at])
            revive_at += 1
    return began, time.time_ns()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("contender")
    parser.add_argument("url")
    parser.add_argument("--ops", type=int, default=20_000)
    parser.add_argument("--prestart", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int)
    parser.add_argument("--prefix")
    a = parser.parse_args()
    w = load(a.workload)
    ops, prestart = min(a.ops, len(w.ops)), min(a.prestart, w.prestart)
    if a.child is not None:
        began, ended = part(make(a.contender, a.url, a.prefix), w, a.child, a.processes, ops, prestart)
        print(json.dumps({"began": began, "ended": ended}))
        return
    figures = []
    for run in range(a.runs):
        prefix = f"w1py-{a.contender}-{os.getpid()}-{run}"
        c = make(a.contender, a.url, prefix)
        for i in range(prestart):
            c.revive(derived(i))
        children = [
            subprocess.Popen(
                [sys.executable, __file__, a.workload, a.contender, a.url, "--ops", str(ops),
                 "--prestart", str(prestart), "--processes", str(a.processes),
                 "--child", str(k), "--prefix", prefix],
                stdout=subprocess.PIPE,
            )
            for k in range(a.processes)
        ]
        spans = []
        for child in children:
            out, _ = child.communicate()
            if child.returncode != 0:
                raise SystemExit("a replay process failed")
            spans.append(json.loads(out))
        first = min(s["began"] for s in spans)
        last = max(s["ended"] for s in spans)
        figures.append(ops / ((last - first) / 1e9))
    print(json.dumps({"contender": a.contender, "processes": a.processes, "ops": ops, "ops_per_sec": figures}))


if __name__ == "__main__":
    main()
