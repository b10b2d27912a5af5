"""Interleaved A/B runs of W1 for Sojourn itself: one checkout against
another, in Rust, Python and Node, run after run in turn so that the
machine's drift hits both alike. For a change that must not slow Sojourn
down (the store seam: `bench/README.md`).

    python3 bench/ab.py BASE_DIR [--pairs N] [--python-a PY] [--python-b PY]

BASE_DIR is a built checkout of the commit to compare against (its
bench/rust release `w1`, its node addon); this checkout is B. Python needs
one interpreter with each checkout's wheel installed (`--python-a`, and
`--python-b`, default this checkout's .venv). Prints, per language, the
median and the best of each side's runs, and B/A.
"""

import argparse
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOAD = os.path.join(HERE, "out", "w1.bin")


def commands(root, python):
    return {
        "rust": [os.path.join(root, "bench/rust/target/release/w1"), WORKLOAD, "sojourn"],
        "python": [python, os.path.join(root, "bench/python/w1.py"), WORKLOAD, "sojourn"],
        "node": ["node", "--expose-gc", os.path.join(root, "bench/node/w1.mjs"), WORKLOAD, "sojourn"],
    }


def run(cmd, runs):
    out = subprocess.run(cmd + ["--runs", str(runs)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["ops_per_sec"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("--pairs", type=int, default=8)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--python-a", required=True)
    p.add_argument("--python-b", default=os.path.join(ROOT, ".venv/bin/python"))
    p.add_argument("--languages", default="rust,python,node")
    args = p.parse_args()
    a = commands(args.base, args.python_a)
    b = commands(ROOT, args.python_b)
    for language in args.languages.split(","):
        got = {"A": [], "B": []}
        for _ in range(args.pairs):
            got["A"] += run(a[language], args.runs)
            got["B"] += run(b[language], args.runs)
        med = {k: statistics.median(v) for k, v in got.items()}
        best = {k: max(v) for k, v in got.items()}
        print(
            f"{language:7} A median {med['A'] / 1e6:.3f} M ops/s, best {best['A'] / 1e6:.3f}; "
            f"B median {med['B'] / 1e6:.3f}, best {best['B'] / 1e6:.3f}; "
            f"B/A median {med['B'] / med['A']:.3f}, best {best['B'] / best['A']:.3f} "
            f"({len(got['A'])} runs each)",
            flush=True,
        )


if __name__ == "__main__":
    main()
