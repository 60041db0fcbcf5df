#!/usr/bin/env bash
# Installs rmail's peers and servers (Debian: postfix for smtp-sink/smtp-source and a private
# smtpd, dovecot-core for its SASL AUTH, stunnel4 for implicit TLS, msmtp, s-nail, GNU time,
# openssl; PyPI: mailmerge in a venv), builds rmail in release mode, and runs the benchmark.
# Needs root (or sudo) for the installs and for the private Postfix instance.
# Took 16.5 minutes on a 2-core machine shared with other builds (quiet: an estimated 3-4).
# Usage: bash bench/run.sh [--quick] [--only WORKLOAD[,WORKLOAD...]] [--rows 1000,10000,100000]
#   workloads: one-off scaling merge merge-tls one-off-tls large million (million: not by default)
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
command -v stunnel4 >/dev/null || need+=(stunnel4)
command -v dovecot >/dev/null || need+=(dovecot-core)
command -v openssl >/dev/null || need+=(openssl)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

venv=target/bench-venv
if [ ! -x "$venv/bin/mailmerge" ]; then
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q mailmerge
fi

cargo build --release --quiet
exec python3 bench/bench.py "$@"
