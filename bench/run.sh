#!/usr/bin/env bash
# Installs rmail's peers (Debian: postfix for smtp-sink/smtp-source, msmtp, s-nail, GNU time;
# PyPI: mailmerge in a venv), builds rmail in release mode, and runs the benchmark.
# Usage: bash bench/run.sh [--quick] [--only one-off|merge|large]
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

need=()
command -v smtp-sink >/dev/null || need+=(postfix)
command -v msmtp >/dev/null || need+=(msmtp)
command -v s-nail >/dev/null || need+=(s-nail)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv=target/bench-venv
if [ ! -x "$venv/bin/mailmerge" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q mailmerge
fi

cargo build --release --quiet
exec python3 bench/bench.py "$@"
