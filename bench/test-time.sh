#!/usr/bin/env bash
# `cargo test` wall time of git revisions, cold and warm, on this machine.
#   cold: a fresh target/ (`cargo test --no-run`), then the first full run;
#   warm: `touch src/lib.rs`, rebuild (`--no-run`), and rebuild + run.
# Each revision is checked out in a temporary worktree (so nothing is shared between them).
# Usage: bash bench/test-time.sh REV [REV...]    e.g. bash bench/test-time.sh 0a1eb7a 7c6d4fb HEAD
# Run on a quiet machine (`cat /proc/loadavg`); the test servers must be installed (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc; }
for rev in "$@"; do
    dir=$(mktemp -d)
    git -C "$repo" worktree add -q --detach "$dir" "$rev"
    if [ -f "$dir/tests/it/support/oauth/package-lock.json" ]; then
        (cd "$dir/tests/it/support/oauth" && npm ci --silent >/dev/null 2>&1) || true
    fi
    cd "$dir"
    cold_build=$(secs cargo test --locked --no-run -q)
    first_run=$(secs cargo test --locked -q)
    touch src/lib.rs
    warm_build=$(secs cargo test --locked --no-run -q)
    touch src/lib.rs
    warm_total=$(secs cargo test --locked -q)
    tests=$(cargo test --locked -q 2>&1 | awk '/^test result/ {s += $4} END {print s}')
    printf '%s: cold build %.0f s, first run %.0f s; warm (touch src/lib.rs) rebuild %.1f s, rebuild+run %.0f s; %s tests; load %s\n' \
        "$rev" "$cold_build" "$first_run" "$warm_build" "$warm_total" "$tests" "$(cut -d' ' -f1 /proc/loadavg)"
    cd "$repo"
    git worktree remove --force "$dir"
done
