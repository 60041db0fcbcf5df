#!/usr/bin/env bash
# rmail's SMTPUTF8 and IDN handling against a real Postfix, with smtputf8_enable = no and yes.
#
# Not part of CI (the same cases run against aiosmtpd in tests/it/session.rs): it starts a
# private Postfix instance of its own (its own config, queue and log under a temporary
# directory; it needs root, and Debian's postfix package, which .ci/run installs) on
# 127.0.0.1:$PORT, sends with rmail, and reads what Postfix logged. Every message goes to
# Postfix's discard transport: nothing leaves the machine. Any other Postfix on the machine
# is left alone.
#
# Usage: sudo bash bench/smtputf8-postfix.sh        (PORT=2587 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-2587}
RMAIL=${RMAIL:-target/debug/rmail}
[ -x "$RMAIL" ] || cargo build --quiet
work=$(mktemp -d /tmp/rmail-postfix-XXXXXX)
chmod 755 "$work"
failures=0

start_postfix() { # $1 = no|yes
    local dir=$work/$1
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data"
    chown postfix "$dir/data"
    cat >"$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = rmail-test.localdomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains =
alias_maps =
alias_database =
default_transport = discard:rmail test
relay_transport = discard:rmail test
local_transport = discard:rmail test
smtpd_relay_restrictions = permit_mynetworks, reject
smtputf8_enable = $1
maillog_file = $dir/maillog
maillog_file_prefixes = $work
meta_directory = /etc/postfix
EOF
    cat >"$dir/etc/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
discard   unix  - - n - - discard
error     unix  - - n - - error
retry     unix  - - n - - error
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
showq     unix  n - n - - showq
postlog   unix-dgram n - n - 1 postlogd
EOF
    # Postfix reports a failed start only to syslog, or to a terminal: give it one.
    script -qc "postfix -c '$dir/etc' start" /dev/null >"$dir/start.log" 2>&1 || true
    for _ in $(seq 50); do
        (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "postfix ($1) did not start; see $dir/maillog" >&2
    return 1
}

stop_postfix() {
    postfix -c "$work/$1/etc" stop >/dev/null 2>&1 || true
}

# $1 = mode, $2 = expected exit code, $3 = what to look for in the maillog (or -), rest: rmail args
check() {
    local mode=$1 want=$2 logged=$3
    shift 3
    local home=$work/home-$mode
    mkdir -p "$home/.config/rmail"
    printf 'default_profile = "pf"\n[profiles.pf]\nhost = "127.0.0.1"\nport = %s\nsecurity = "none"\ntimeout_secs = 10\nfrom = "job@example.com"\n' \
        "$PORT" >"$home/.config/rmail/config.toml"
    local code=0
    env -i PATH="$PATH" HOME="$home" XDG_CONFIG_HOME="$home/.config" \
        XDG_STATE_HOME="$home/.local/state" "$RMAIL" send -s "Grüße" --text "Hallo." "$@" \
        2>"$work/stderr" || code=$?
    sleep 1 # Postfix logs asynchronously
    local ok=1
    [ "$code" = "$want" ] || ok=0
    if [ "$logged" != - ] && ! grep -q -- "$logged" "$work/$mode/maillog"; then ok=0; fi
    if [ $ok = 1 ]; then
        echo "ok    smtputf8_enable=$mode rmail $* → $code${logged:+ ($logged)}"
    else
        echo "FAIL  smtputf8_enable=$mode rmail $* → $code (wanted $want, log '$logged')"
        sed 's/^/      /' "$work/stderr"
        failures=$((failures + 1))
    fi
}

trap 'stop_postfix no; stop_postfix yes' EXIT

start_postfix no
check no 0 "to=<zoe@xn--bcher-kva.example>" --to "zoe@bücher.example"
check no 65 - --to "zoë@example.com"
check no 65 - --to "r@example.com" --reply-to "zoë@example.com"
stop_postfix no

start_postfix yes
check yes 0 "to=<zoe@xn--bcher-kva.example>" --to "zoe@bücher.example"
check yes 0 "to=<zoë@example.com>" --to "zoë@example.com"
check yes 0 "to=<r@example.com>" --to "r@example.com" --reply-to "zoë@example.com"
stop_postfix yes

if [ "$failures" = 0 ]; then
    echo "all SMTPUTF8 checks passed against Postfix $(postconf -h mail_version)"
    rm -rf "$work"
else
    echo "$failures check(s) failed; logs in $work" >&2
    exit 1
fi
