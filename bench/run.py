"""Runs every benchmark side by side and prints one table for one run.

    python3 bench/run.py [--runs N] [--only rust,python,node] [--write]

Under scripts/with-redis (as `make bench` runs it), W1 on the Redis store
runs too, beside each language's plain Redis client (`redis_table`).

Each contender replays the same W1 file (bench/workload.py) in its own
process, `--runs` times on a fresh store; the table gives the medians and
each Sojourn figure as a ratio to every peer of its language, measured in
this same run. `--write` also stores bench/out/results.json, the table in
bench/README.md and the chart bench/chart.svg.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOAD = os.path.join(HERE, "out", "w1.bin")
WORKLOAD2 = os.path.join(HERE, "out", "w2.bin")
MEMORY_SESSIONS = 1_000_000
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")

RUST_BIN = os.path.join(HERE, "rust", "target", "release")

# language -> (command prefix for W1, contenders, the ends workload, the batch workload)
LANGUAGES = {
    "rust": (
        [os.path.join(RUST_BIN, "w1")],
        ["sojourn", "hashmap", "moka", "moka-tuned"],
        [os.path.join(RUST_BIN, "ends")],
        [os.path.join(RUST_BIN, "batch")],
    ),
    "python": (
        [PYTHON, os.path.join(HERE, "python", "w1.py")],
        ["sojourn", "dict", "ttlcache"],
        [PYTHON, os.path.join(HERE, "python", "ends.py")],
        [PYTHON, os.path.join(HERE, "python", "batch.py")],
    ),
    "node": (
        ["node", "--expose-gc", os.path.join(HERE, "node", "w1.mjs")],
        ["sojourn", "map", "lru-cache"],
        ["node", os.path.join(HERE, "node", "ends.mjs")],
        ["node", os.path.join(HERE, "node", "batch.mjs")],
    ),
}

# language -> (command prefix of the Redis W1 replay, contenders), each
# taking WORKLOAD CONTENDER URL --processes K --runs R --ops N --prestart P
# and printing {"ops_per_sec": [...]}; only those whose script exists run.
REDIS = {
    "rust": ([os.path.join(RUST_BIN, "redis_w1")], ["sojourn", "plain"]),
    "python": ([PYTHON, os.path.join(HERE, "python", "redis_w1.py")], ["sojourn", "redis-py"]),
    "node": (["node", os.path.join(HERE, "node", "redis_w1.mjs")], ["sojourn", "ioredis"]),
}
# W1 on Redis is cut to its first REDIS_OPS operations over REDIS_PRESTART
# sessions: a round trip an operation makes the whole of W1 minutes long.
REDIS_OPS = 20_000
REDIS_PRESTART = 10_000
REDIS_PROCESSES = (1, 4)
REDIS_FOOTPRINT_SESSIONS = 50_000

# The targets of the benchmark issues: (language, peer) -> least ratio.
TARGETS = {
    ("rust", "hashmap"): 1.0,
    ("rust", "moka"): 2.5,
    ("rust", "moka-tuned"): 2.0,
    ("python", "dict"): 1.5,
    ("python", "ttlcache"): 5.0,
    ("node", "map"): 1.2,
    ("node", "lru-cache"): 1.3,
}
# W2, the restart storm: (language, peer) -> least ratio.
W2_TARGETS = {
    ("python", "dict"): 1.2,
    ("node", "map"): 1.0,
}
MAX_BYTES_PER_SESSION = 180
MIN_TWO_THREAD_SCALING = 1.7

# Each operation alone (issue #13): language -> (command, the peer), each
# printing {"ns_per_op": {op: {"sojourn": ns, peer: ns}}}; every ratio
# should be at least MIN_OP_RATIO.
OPS = {
    "python": ([PYTHON, os.path.join(HERE, "python", "ops.py")], "dict"),
    "node": (["node", os.path.join(HERE, "node", "ops.mjs")], "map"),
}
MIN_OP_RATIO = 1.0

# Snapshots (issue #11): save and load of SNAPSHOT_SESSIONS on the memory
# store, each mode in processes of its own; the targets of the issue.
SNAPSHOT = os.path.join(RUST_BIN, "snapshot")
SNAPSHOT_SESSIONS = 1_000_000
SNAPSHOT_MODES = ("plain", "encrypted", "attrs")
MAX_SAVE_S = 1.0
MAX_LOAD_S = 2.0
MAX_SAVE_EXTRA = 0.10


def run_json(command):
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(languages, runs):
    results = {"languages": {}}
    for language in languages:
        w1, contenders, ends, batch = LANGUAGES[language]
        rows = {}
        for name in contenders:
            print(f"  {language} {name}: W1 x{runs}", file=sys.stderr, flush=True)
            ops = run_json(w1 + [WORKLOAD, name, "--runs", str(runs)])["ops_per_sec"]
            print(f"  {language} {name}: W2 x{runs}", file=sys.stderr, flush=True)
            w2 = run_json(w1 + [WORKLOAD2, name, "--runs", str(runs)])["ops_per_sec"]
            mem = run_json(w1 + [WORKLOAD, name, "--memory", str(MEMORY_SESSIONS)])
            rows[name] = {
                "ops_per_sec": statistics.median(ops),
                "runs": ops,
                "w2_ops_per_sec": statistics.median(w2),
                "w2_runs": w2,
                "bytes_per_session": mem["bytes_per_session"],
            }
        entry = {"contenders": rows}
        if language == "rust":
            for name in ("sojourn", "moka-tuned"):
                print(f"  {language} {name}: W1 on two threads x{runs}", file=sys.stderr, flush=True)
                two = run_json(w1 + [WORKLOAD, name, "--threads", "2", "--runs", str(runs)])
                entry.setdefault("two_threads", {})[name] = statistics.median(two["ops_per_sec"])
            entry["sojourn_two_threads"] = entry["two_threads"]["sojourn"]
        print(f"  {language}: session ends, batches", file=sys.stderr, flush=True)
        entry["ends_per_sec"] = statistics.median(run_json(ends)["ends_per_sec"])
        batches = run_json(batch + ["--runs", str(runs)])
        entry["batch"] = {
            "size": batches["batch"],
            "single_per_sec": statistics.median(batches["single_per_sec"]),
            "batched_per_sec": statistics.median(batches["batched_per_sec"]),
        }
        results["languages"][language] = entry
    return results


def measure_ops(languages, runs):
    results = {}
    for language in languages:
        if language not in OPS:
            continue
        command, _ = OPS[language]
        print(f"  {language}: each operation alone x{runs}", file=sys.stderr, flush=True)
        results[language] = run_json(command + ["--runs", str(runs)])["ns_per_op"]
    return results


def ops_table(ops):
    lines = [
        "Each operation alone: nanoseconds a call on a tracker of 100,000 live sessions, random sessions, "
        "medians of the runs; the ratio is the peer's time ÷ Sojourn's (above 1, Sojourn is faster).",
        "",
        "| language | operation | Sojourn, ns | peer | peer, ns | peer ÷ Sojourn |",
        "|---|---|---:|---|---:|---:|",
    ]
    checks = []
    for language, rows in ops.items():
        peer = OPS[language][1]
        for op, row in rows.items():
            ratio = row[peer] / row["sojourn"]
            lines.append(f"| {language} | `{op}` | {row['sojourn']:,.0f} | {peer} | {row[peer]:,.0f} | {ratio:.2f}× |")
            checks.append((f"{language} `{op}`: Sojourn ≥ {MIN_OP_RATIO}× {peer}", ratio, ratio >= MIN_OP_RATIO))
    return "\n".join(lines + targets(checks))


def measure_redis(languages, runs, url):
    results = {}
    for language in languages:
        command, contenders = REDIS[language]
        if not os.path.exists(command[-1]):
            print(f"  {language}: no Redis replay ({command[-1]})", file=sys.stderr)
            continue
        rows = {}
        for processes in REDIS_PROCESSES:
            for name in contenders:
                print(f"  {language} {name} on Redis, {processes} process(es): x{runs}", file=sys.stderr, flush=True)
                ops = run_json(
                    command
                    + [WORKLOAD, name, url, "--processes", str(processes), "--runs", str(runs)]
                    + ["--ops", str(REDIS_OPS), "--prestart", str(REDIS_PRESTART)]
                )["ops_per_sec"]
                rows[f"{name}/{processes}"] = {"ops_per_sec": statistics.median(ops), "runs": ops}
        results[language] = rows
    batch = os.path.join(RUST_BIN, "redis_batch")
    if "rust" in languages and os.path.exists(batch):
        results["batch"] = run_json([batch, url, str(REDIS_OPS)])
    footprint = os.path.join(RUST_BIN, "redis_footprint")
    if os.path.exists(footprint):
        out = subprocess.run([footprint, url, str(REDIS_FOOTPRINT_SESSIONS)], check=True, capture_output=True, text=True).stdout
        results["footprint"] = [json.loads(line) for line in out.strip().splitlines()]
    return results


def targets(checks):
    """The rows of a table of (target, measured, met)."""
    rows = ["", "| target | measured | met |", "|---|---:|---|"]
    return rows + [f"| {name} | {value:.2f} | {'yes' if met else '**no**'} |" for name, value, met in checks]


def measure_snapshots(runs):
    results = {}
    for mode in SNAPSHOT_MODES:
        print(f"  snapshots of {SNAPSHOT_SESSIONS:,} sessions, {mode}: x{runs}", file=sys.stderr, flush=True)
        results[mode] = [run_json([SNAPSHOT, str(SNAPSHOT_SESSIONS), mode]) for _ in range(runs)]
    return results


def snapshot_table(snapshots):
    lines = [
        f"Snapshots of {SNAPSHOT_SESSIONS:,} sessions on the memory store (one in three with a user; "
        "`attrs`: every one with a user and three attributes), medians of the runs, each in a process of its own:",
        "",
        "| mode | save, s | load, s | file bytes/session | peak extra memory in a save | of the store's own |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for mode, runs in snapshots.items():
        median = lambda key: statistics.median(r[key] for r in runs)
        extra = median("save_peak_extra_bytes")
        share = extra / median("store_bytes")
        save, load = median("save_s"), median("load_s")
        lines.append(
            f"| {mode} | {save:.2f} | {load:.2f} | {median('file_bytes_per_session'):.1f} | "
            f"{extra / 1e6:.1f} MB | {share:.1%} |"
        )
        checks.append((f"{mode} save < {MAX_SAVE_S} s", save, save < MAX_SAVE_S))
        checks.append((f"{mode} load < {MAX_LOAD_S} s", load, load < MAX_LOAD_S))
        checks.append((f"{mode} save's extra memory < {MAX_SAVE_EXTRA:.0%} of the store", share, share < MAX_SAVE_EXTRA))
    return "\n".join(lines + targets(checks))


def redis_table(redis):
    lines = [
        f"W1's first {REDIS_OPS:,} operations over {REDIS_PRESTART:,} sessions, on one local Redis; "
        "several processes share the sessions and split the operations.",
        "",
        "| language | contender | processes | ops/s (median) | Sojourn ÷ contender |",
        "|---|---|---:|---:|---:|",
    ]
    for language, rows in redis.items():
        if language in ("footprint", "batch"):
            continue
        for key, row in rows.items():
            name, processes = key.split("/")
            ours = rows[f"sojourn/{processes}"]["ops_per_sec"]
            shown = "—" if name == "sojourn" else f"{ours / row['ops_per_sec']:.2f}×"
            lines.append(f"| {language} | {name} | {processes} | {row['ops_per_sec']:,.0f} | {shown} |")
    b = redis.get("batch")
    if b:
        lines.append("")
        lines.append(
            f"Rust tracks a second on Redis: one `track` call each {b['single_per_sec']:,.0f}, "
            f"`track_many` of {b['batch']} {b['batched_per_sec']:,.0f} ({b['batched_per_sec'] / b['single_per_sec']:.1f}×); "
            f"the plain client's pipeline of {b['batch']} `HINCRBY` + `PEXPIRE` {b['plain_pipelined_per_sec']:,.0f}"
        )
    for f in redis.get("footprint", []):
        lines.append("")
        lines.append(
            f"Redis memory a session ({f['kind']}, {f['sessions']:,} started): "
            f"{f['bytes_per_session']:.0f} B (`used_memory` growth)"
        )
    return "\n".join(lines)


def table(results):
    lines = [
        "| language | contender | W1 ops/s (median) | Sojourn ÷ contender | W2 ops/s (median) | Sojourn ÷ contender | bytes/session |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for language, entry in results["languages"].items():
        rows = entry["contenders"]
        ours = rows["sojourn"]
        for name, row in rows.items():
            ratio = ours["ops_per_sec"] / row["ops_per_sec"]
            ratio2 = ours["w2_ops_per_sec"] / row["w2_ops_per_sec"]
            shown = "—" if name == "sojourn" else f"{ratio:.2f}×"
            shown2 = "—" if name == "sojourn" else f"{ratio2:.2f}×"
            lines.append(
                f"| {language} | {name} | {row['ops_per_sec']:,.0f} | {shown} | "
                f"{row['w2_ops_per_sec']:,.0f} | {shown2} | {row['bytes_per_session']:.0f} |"
            )
            target = TARGETS.get((language, name))
            if target is not None:
                checks.append((f"{language}: W1 Sojourn ≥ {target}× {name}", ratio, ratio >= target))
            target = W2_TARGETS.get((language, name))
            if target is not None:
                checks.append((f"{language}: W2 Sojourn ≥ {target}× {name}", ratio2, ratio2 >= target))
        checks.append(
            (
                f"{language}: ≤ {MAX_BYTES_PER_SESSION} bytes/session",
                ours["bytes_per_session"],
                ours["bytes_per_session"] <= MAX_BYTES_PER_SESSION,
            )
        )
        if "sojourn_two_threads" in entry:
            scaling = entry["sojourn_two_threads"] / ours["ops_per_sec"]
            checks.append((f"{language}: two threads ≥ {MIN_TWO_THREAD_SCALING}× one", scaling, scaling >= MIN_TWO_THREAD_SCALING))
    lines.append("")
    lines.append("| extra | figure |")
    lines.append("|---|---:|")
    for language, entry in results["languages"].items():
        for name, figure in entry.get("two_threads", {}).items():
            lines.append(f"| {language} W1 on two threads, {name}, ops/s | {figure:,.0f} |")
        lines.append(f"| {language} session ends delivered to a callback, per second | {entry['ends_per_sec']:,.0f} |")
        b = entry["batch"]
        lines.append(
            f"| {language} tracks per second, one call each / `track_many` of {b['size']} | "
            f"{b['single_per_sec']:,.0f} / {b['batched_per_sec']:,.0f} ({b['batched_per_sec'] / b['single_per_sec']:.1f}×) |"
        )
    return "\n".join(lines + targets(checks))


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(LANGUAGES))
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--redis-only", action="store_true", help="only the Redis rows (printed, never written)")
    parser.add_argument("--snapshots-only", action="store_true", help="only the snapshot rows (printed, never written)")
    parser.add_argument("--ops-only", action="store_true", help="only each operation alone (printed, never written)")
    args = parser.parse_args()
    languages = [l for l in args.only.split(",") if l]
    if not (os.path.exists(WORKLOAD) and os.path.exists(WORKLOAD2)):
        os.makedirs(os.path.dirname(WORKLOAD), exist_ok=True)
        subprocess.run([sys.executable, os.path.join(HERE, "workload.py"), WORKLOAD, WORKLOAD2], check=True)
    if args.redis_only:
        print(redis_table(measure_redis(languages, args.runs, os.environ["SOJOURN_REDIS_URL"])))
        return
    if args.snapshots_only:
        print(snapshot_table(measure_snapshots(args.runs)))
        return
    if args.ops_only:
        print(ops_table(measure_ops(languages, args.runs)))
        return
    results = measure(languages, args.runs)
    results["ops"] = measure_ops(languages, args.runs)
    url = os.environ.get("SOJOURN_REDIS_URL")
    if url:
        results["redis"] = measure_redis(languages, args.runs, url)
    if "rust" in languages and os.path.exists(SNAPSHOT):
        results["snapshots"] = measure_snapshots(args.runs)
    results["machine"] = machine()
    results["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = table(results)
    if results["ops"]:
        text += "\n\n" + ops_table(results["ops"])
    if "redis" in results:
        text += "\n\n" + redis_table(results["redis"])
    if "snapshots" in results:
        text += "\n\n" + snapshot_table(results["snapshots"])
    print(f"\nW1, {args.runs} runs each, on {results['machine']}, {results['date']}\n")
    print(text)
    if args.write:
        import chart

        with open(os.path.join(HERE, "out", "results.json"), "w") as f:
            json.dump(results, f, indent=2)
        chart.write(results, os.path.join(HERE, "chart.svg"))
        readme = os.path.join(HERE, "README.md")
        with open(readme) as f:
            content = f.read()
        start, end = "<!-- results -->", "<!-- /results -->"
        head, rest = content.split(start, 1)
        _, tail = rest.split(end, 1)
        block = f"{start}\nW1, {args.runs} runs each, on {results['machine']}, {results['date']}.\n\n{text}\n{end}"
        with open(readme, "w") as f:
            f.write(head + block + tail)


if __name__ == "__main__":
    main()
