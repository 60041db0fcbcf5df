#!/usr/bin/env bash
# After the Debian packages are installed: one delivery the way cron makes it, through the
# installed binary. Debian's cron runs `sendmail -FCronDaemon -i -B8BITMIME -oem ADDR` with
# the daemon's environment (no HOME, a minimal PATH) and the message on stdin. The server is
# tests/it/support/smtpd.py (aiosmtpd) on 127.0.0.1; what it received is checked with
# Python's email parser.
#
#   bash .ci/deb-smoke.sh [SENDMAIL]   SENDMAIL: /usr/sbin/sendmail (rmail-mta installed) or
#                                      empty: /usr/bin/rmail run under the name "sendmail"
set -euo pipefail
cd "$(dirname "$0")/.."
sendmail="${1:-}"

work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/mail"
/usr/bin/python3 tests/it/support/smtpd.py --dir "$work/mail" > "$work/port" &
server_pid=$!
for _ in $(seq 100); do grep -q '^PORT ' "$work/port" && break; sleep 0.1; done
port="$(sed -n 's/^PORT //p' "$work/port")"
[ -n "$port" ] || { echo "deb-smoke: the SMTP server did not start" >&2; exit 1; }

cat > "$work/config.toml" <<TOML
[profiles.relay]
host = "127.0.0.1"
port = $port
security = "none"
from = "backup@example.com"
TOML
chmod 600 "$work/config.toml"

message=$'To: ops@example.com\nSubject: Cron <root@web1> /usr/local/bin/backup.sh\n\nbackup finished: 3 files\n'
if [ -n "$sendmail" ]; then
    printf '%s' "$message" | env -i PATH=/usr/bin:/bin LOGNAME=root RMAIL_CONFIG="$work/config.toml" \
        "$sendmail" -FCronDaemon -i -B8BITMIME -oem ops@example.com
else
    printf '%s' "$message" | env -i PATH=/usr/bin:/bin LOGNAME=root RMAIL_CONFIG="$work/config.toml" \
        bash -c 'exec -a sendmail /usr/bin/rmail -FCronDaemon -i -B8BITMIME -oem ops@example.com'
fi

for _ in $(seq 50); do ls "$work/mail"/*.json >/dev/null 2>&1 && break; sleep 0.1; done
/usr/bin/python3 - "$work/mail" <<'PY'
import email, email.policy, glob, json, sys
metas = sorted(glob.glob(sys.argv[1] + "/*.json"))
assert len(metas) == 1, "expected one message, got %d" % len(metas)
meta = json.load(open(metas[0]))
assert meta["rcpt_tos"] == ["ops@example.com"], meta
assert meta["mail_from"] == "backup@example.com", meta
msg = email.message_from_bytes(open(metas[0][:-5] + ".eml", "rb").read(), policy=email.policy.default)
assert msg["Subject"] == "Cron <root@web1> /usr/local/bin/backup.sh", msg["Subject"]
assert msg["From"].addresses[0].addr_spec == "backup@example.com", msg["From"]
assert msg["Date"] and msg["Message-ID"], "Date and Message-ID are added"
body = msg.get_content().replace("\r\n", "\n")
assert body == "backup finished: 3 files\n", repr(body)
print("deb-smoke: cron-style delivery through the installed rmail arrived: From %s, To %s"
      % (msg["From"], meta["rcpt_tos"][0]))
PY
