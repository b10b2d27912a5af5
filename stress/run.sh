#!/usr/bin/env bash
# Runs every stress check at STRESS_SCALE (1 unless set: the full run of
# `make stress`; `make stress-smoke` sets 0.001), each timed, all of them
# even when one fails; exits 1 if any failed. Needs the release binaries
# (cargo build --release -p sojourn-stress), the Python wheel in .venv,
# the Node addon, and SOJOURN_REDIS_URL (scripts/with-redis) for the
# Node workers; the `redis` check starts redis-servers of its own.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=${CARGO_TARGET_DIR:-target}/release
export STRESS_SCALE=${STRESS_SCALE:-1}
echo "stress: STRESS_SCALE=$STRESS_SCALE, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
failed=()
began=$(date +%s)
check() {
    local name=$1
    shift
    local t0
    t0=$(date +%s.%N)
    if ! "$@"; then
        failed+=("$name")
    fi
    printf 'stress %s: %.1f s wall\n' "$name" "$(echo "$(date +%s.%N) - $t0" | bc)"
}
check ticks "$bin/ticks"
check starts "$bin/starts"
check python-threads .venv/bin/python stress/python_threads.py
check node-workers node stress/node_workers.mjs
check snapshot "$bin/snapshot"
check redis "$bin/redis"
echo "stress: $(( $(date +%s) - began )) s in all, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ${#failed[@]} -gt 0 ]; then
    echo "stress: FAILED: ${failed[*]}"
    exit 1
fi
echo "stress: every check passed"
