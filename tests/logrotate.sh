#!/bin/sh
# The logrotate file harbord installs (contrib/logrotate), run by
# logrotate(8) itself with its paths pointed into a scratch directory:
#  - a pid file left by a dead harbord, naming a live process that is not
#    harbord, is not signalled (harbord's pid file counts only while
#    locked);
#  - as root, a detached harbord serving as nobody, rotated twice with
#    clients in between, reopens its log each time and loses no line.
# SKIP (77) without logrotate(8) and flock(1); the second part needs root.
set -u
case ${HARBORD:-} in
*.exe) echo "SKIP: a Windows build: no logrotate, no root, no detaching"; exit 77 ;;
esac

builddir=${HARBOR_TEST_BUILDDIR:?}
harbord=${HARBORD:?}
localstatedir=${HARBOR_LOCALSTATEDIR:?}
runstatedir=${HARBOR_RUNSTATEDIR:?}
conf=$builddir/contrib/logrotate/harbord

command -v logrotate >/dev/null 2>&1 || { echo "SKIP: no logrotate"; exit 77; }
command -v flock >/dev/null 2>&1 || { echo "SKIP: no flock(1)"; exit 77; }
[ -r "$conf" ] || { echo "no $conf"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/logrotate.XXXXXX") || exit 99
chmod 755 "$tmp"
sleeper=
hpid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	[ -n "$hpid" ] && kill -9 "$hpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

# The installed file, its log and pid file in $tmp.
sed -e "s|$localstatedir/log/harbord.log|$tmp/harbord.log|g" \
    -e "s|$runstatedir/harbord.pid|$tmp/harbord.pid|g" "$conf" >"$tmp/lr.conf"
grep -q "$tmp/harbord.pid" "$tmp/lr.conf" || { echo "no pid path in $conf"; exit 1; }
rotate() {
	logrotate -f -s "$tmp/state" "$tmp/lr.conf" >"$tmp/lr.out" 2>&1 ||
	    { cat "$tmp/lr.out"; echo "logrotate failed"; fail=1; }
}

# 1. A stale pid file naming a live process that is not harbord.
sleep 60 &
sleeper=$!
echo "$sleeper" >"$tmp/harbord.pid"
echo "a line" >"$tmp/harbord.log"
rotate
sleep 0.2
if ! kill -0 "$sleeper" 2>/dev/null; then
	echo "logrotate's postrotate signalled process $sleeper, named by a stale pid file"
	fail=1
fi
kill "$sleeper" 2>/dev/null
sleeper=
rm -f "$tmp"/harbord.log* "$tmp/harbord.pid" "$tmp/state"

if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
	echo "SKIP (part 2): needs root and a user nobody"
	exit $fail
fi

# 2. harbord as nobody, rotated twice.
cat >"$tmp/h.conf" <<CONF
user nobody
log file $tmp/harbord.log
pidfile $tmp/harbord.pid
service echo { listen 127.0.0.1:0; handler echo }
CONF
"$harbord" -f "$tmp/h.conf" || { echo "harbord did not start"; exit 1; }
hpid=$(cat "$tmp/harbord.pid")
wait_for() {	# FILE TEXT: up to 5 s
	n=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -gt 100 ] && return 1
		sleep 0.05
	done
}
wait_for "$tmp/harbord.log" "listening on 127.0.0.1:" || { echo "no listening line"; exit 1; }
port=$(sed -n 's/.*service echo listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/harbord.log")
client() {	# sends a line, expects it back (bash's /dev/tcp)
	out=$(bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "hello %s\n" "$2" >&3
		IFS= read -r -t 5 line <&3 && printf "%s" "$line"' client "$port" "$1")
	[ "$out" = "hello $1" ] || { echo "client $1 got '$out'"; fail=1; }
}
for i in 1 2 3; do client "a$i"; done
rotate
wait_for "$tmp/harbord.log" "log reopened" || { echo "no 'log reopened' after the first rotation"; fail=1; }
for i in 1 2 3; do client "b$i"; done
rotate
wait_for "$tmp/harbord.log" "log reopened" || { echo "no 'log reopened' after the second rotation"; fail=1; }
for i in 1 2 3; do client "c$i"; done
kill -TERM "$hpid"
n=0
while [ -e "$tmp/harbord.pid" ] && [ "$n" -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
hpid=
all=$(cat "$tmp"/harbord.log "$tmp"/harbord.log.1 2>/dev/null; gzip -dc "$tmp"/harbord.log.*.gz 2>/dev/null)
closed=$(printf '%s\n' "$all" | grep -c "service echo: closed 127.0.0.1:")
[ "$closed" = 9 ] || { echo "$closed of 9 closed lines kept over two rotations"; printf '%s\n' "$all"; fail=1; }
if printf '%s\n' "$all" | grep -q "cannot open log file\|Permission denied"; then
	echo "harbord complained:"; printf '%s\n' "$all" | grep "cannot open\|denied"; fail=1
fi
exit $fail
