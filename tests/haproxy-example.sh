#!/bin/sh
# contrib/haproxy/haproxy.cfg, as make install puts it (the build tree's,
# its paths filled in): the harbord configuration its comment shows is
# one harbord -n takes, for each of the three ports; HAProxy takes the
# file (haproxy -c); and, run as written but on four free ports, it
# serves: clients get their echo through HAProxy, each harbord is
# checked and sees PROXY v2 headers.  Then, under a continuous load of
# clients, one harbord is drained (harborctl drain), stopped once its
# connections are done, and started again until HAProxy sends it clients
# once more, as the file's comment says to do it, and no client fails;
# and with one harbord stopped outright the clients are still served.
# SKIP (77) without haproxy.
set -u
case ${HARBORD:-} in
*.exe) echo "SKIP: a Windows build: the example runs harbords in the background"; exit 77 ;;
esac

builddir=${HARBOR_TEST_BUILDDIR:?}
harbord=${HARBORD:?}
cfg=$builddir/contrib/haproxy/haproxy.cfg
[ -r "$cfg" ] || { echo "no $cfg"; exit 99; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/haproxy.XXXXXX") || exit 99
chmod 755 "$tmp"
pids=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	# shellcheck disable=SC2086 # the pids, one word each
	[ -n "$pids" ] && { kill -9 $pids; wait; } 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0

# The comment's harbord configuration: its lines after the one that names
# harbord-7001.conf, up to the next empty comment line.
awk '
	/harbord-7001\.conf is:$/ { want = 1; next }
	want && /^#$/ { if (on) exit; next }
	want && /^#     / { on = 1; print substr($0, 7) }
' "$cfg" >"$tmp/comment.conf"
grep -q 'listen 127\.0\.0\.1:7001$' "$tmp/comment.conf" ||
    { echo "no harbord configuration in $cfg:"; cat "$tmp/comment.conf"; exit 1; }

# harbord-700N.conf: the ports, the pid file in $tmp.
conf() {	# conf PORT [BASE]: the configuration of harbord PORT (7001..7003)
	sed -e "s|^pidfile .*|pidfile $tmp/harbord-$1.pid|" \
	    -e "s|^control-socket .*|control-socket $tmp/harbord-$1.sock|" \
	    -e "s|:7001$|:${2:-700}${1#700}|" "$tmp/comment.conf"
}
for port in 7001 7002 7003; do
	conf $port >"$tmp/$port.conf"
	grep -q "listen 127\.0\.0\.1:$port\$" "$tmp/$port.conf" ||
	    { echo "no listen on $port in:"; cat "$tmp/$port.conf"; exit 99; }
	out=$("$harbord" -n -f "$tmp/$port.conf" 2>&1)
	if [ "$out" != "configuration OK" ]; then
		echo "harbord -n on the configuration for $port:"
		printf '%s\n' "$out"
		fail=1
	fi
done
[ "$fail" = 0 ] || exit 1

haproxy=$(command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
if [ ! -x "$haproxy" ]; then
	echo "SKIP: no haproxy (Debian package haproxy)"
	exit 77
fi
if ! "$haproxy" -c -f "$cfg" >"$tmp/check.out" 2>&1; then
	cat "$tmp/check.out"
	echo "haproxy -c -f $cfg failed"
	exit 1
fi

# Four free ports in a row for 7000..7003: BASE0 to BASE3.
free() {	# free PORT: nothing listens on 127.0.0.1:PORT
	! bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
base=
for b in 2700 3700 4700 5700; do
	if free "${b}0" && free "${b}1" && free "${b}2" && free "${b}3"; then
		base=$b
		break
	fi
done
if [ -z "$base" ]; then
	echo "haproxy -c passed; SKIP: no four free ports to run the example on"
	exit 77
fi

# As written, on those ports, HAProxy on 127.0.0.1 only.
sed -e "s|bind :7000|bind 127.0.0.1:${base}0|" \
    -e "s|127\.0\.0\.1:700\([1-3]\)|127.0.0.1:${base}\1|" "$cfg" >"$tmp/run.cfg"
for port in 7001 7002 7003; do
	conf $port "$base" >"$tmp/run-$port.conf"
	"$harbord" -d -f "$tmp/run-$port.conf" >"$tmp/$port.log" 2>&1 &
	eval "pid_$port=\$!"
	pids="$pids $!"
done
"$haproxy" -db -f "$tmp/run.cfg" >"$tmp/haproxy.log" 2>&1 &
pids="$pids $!"

# Waits (at most 10 s) until each harbord's log has TEXT.
wait_logs() {	# wait_logs TEXT
	n=0
	while [ "$n" -lt 200 ]; do
		all=1
		for port in 7001 7002 7003; do
			grep -qF "$1" "$tmp/$port.log" || all=0
		done
		[ "$all" = 1 ] && return 0
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}
# The line sent, back through HAProxy (bash's /dev/tcp).
echo_through() {	# echo_through LINE
	bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "%s\n" "$2" >&3
		IFS= read -r -t 5 line <&3; printf "%s" "$line"' echo "${base}0" "$1"
}

if ! wait_logs "(PROXY v2, local)"; then
	echo "a harbord was not checked with a PROXY v2 LOCAL header:"
	tail -n 5 "$tmp"/700?.log "$tmp/haproxy.log"
	exit 1
fi
for i in 1 2 3 4 5 6; do
	got=$(echo_through "client $i")
	[ "$got" = "client $i" ] || { echo "client $i got '$got'"; fail=1; }
done
# Each harbord writes its log from a thread of its own: a line may come a
# moment after the echo did.
tries=0
while :; do
	n=$(cat "$tmp"/700?.log | grep -c "via proxy 127\.0\.0\.1:[0-9]* (PROXY v2)$")
	[ "$n" -ge 6 ] || [ "$tries" -ge 100 ] && break
	sleep 0.05
	tries=$((tries + 1))
done
[ "$n" -ge 6 ] || { echo "$n of 6 clients came with a PROXY v2 header"; fail=1; }

# Clients one after another, all along, until told to stop: each failure
# noted.
load() {
	ok=0
	bad=0
	while [ ! -e "$tmp/stop-load" ]; do
		got=$(echo_through "load $ok")
		if [ "$got" = "load $ok" ]; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "client got '$got'" >>"$tmp/load-errors"
		fi
	done
	echo "$ok $bad" >"$tmp/load-result"
}
ctl() {	# ctl PORT COMMAND [ARG]: harborctl to harbord PORT
	p=$1
	shift
	"${HARBORCTL:?}" -s "$tmp/harbord-$p.sock" "$@"
}
load &
loadpid=$!
pids="$pids $loadpid"
sleep 1

# 7002 drained, its connections let finish, stopped, started again.
ctl 7002 drain echo >/dev/null || { echo "harborctl drain failed"; fail=1; }
n=0
while [ "$(ctl 7002 connections echo | wc -l)" -gt 1 ] && [ "$n" -lt 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
# shellcheck disable=SC2154 # set by eval above
kill -TERM "$pid_7002"
wait "$pid_7002"
mv "$tmp/7002.log" "$tmp/7002-first.log"
"$harbord" -d -f "$tmp/run-7002.conf" >"$tmp/7002.log" 2>&1 &
pid_7002=$!
pids="$pids $pid_7002"
# Back in HAProxy's rotation: a client of the load reaches it.
n=0
until grep -q "via proxy 127\.0\.0\.1:[0-9]* (PROXY v2)$" "$tmp/7002.log" ||
    [ "$n" -ge 300 ]; do
	sleep 0.05
	n=$((n + 1))
done
grep -q "via proxy 127\.0\.0\.1:[0-9]* (PROXY v2)$" "$tmp/7002.log" ||
    { echo "the restarted harbord got no client in 15 s"; fail=1; }
touch "$tmp/stop-load"
wait "$loadpid"
read -r ok bad <"$tmp/load-result"
if [ "$bad" != 0 ] || [ "$ok" -lt 20 ]; then
	echo "under load, through drain, stop and start: $ok clients served," \
	    "$bad failed"
	cat "$tmp/load-errors" 2>/dev/null
	fail=1
fi

# One harbord stops: its clients go to the others.  Once it has gone, so
# that HAProxy's connects to it are refused and tried again elsewhere: a
# client HAProxy connected in the moment before harbord closed its port
# sat in the listen queue and is reset with it (as with any server that
# stops without a drain, which the part above does).
# shellcheck disable=SC2154 # set by eval above
kill -TERM "$pid_7002"
wait "$pid_7002"
for i in 1 2 3 4 5 6; do
	got=$(echo_through "after $i")
	[ "$got" = "after $i" ] || { echo "with one stopped, client $i got '$got'"; fail=1; }
done
if grep -q "refused\|bad PROXY" "$tmp"/700?.log; then
	echo "a harbord refused a connection:"
	grep "refused\|bad PROXY" "$tmp"/700?.log
	fail=1
fi
[ "$fail" = 0 ] || { tail -n 20 "$tmp"/700?.log "$tmp/haproxy.log"; exit 1; }
echo "haproxy -c passed; the example served 12 clients over 3 harbords," \
    "one stopped, and $ok under load through a drain and restart"
exit 0
