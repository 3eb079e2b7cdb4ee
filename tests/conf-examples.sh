#!/bin/sh
# harbord.conf(5)'s EXAMPLES, as written: the configuration is taken from
# the page (its directories pointed into a scratch directory, the address
# the page says stands for one of the host's own made 127.0.0.2, the
# quote file the page shows written where the configuration reads it),
# checked with -n, and, as root (the ports are below 1024), started
# detached: every service answers on its standard port.  SKIP (77) when
# not root or a port is taken.
set -u
case ${HARBORD:-} in
*.exe) echo "SKIP: a Windows build: no logrotate, no root, no detaching"; exit 77 ;;
esac

srcdir=${HARBOR_TEST_SRCDIR:?}/..
harbord=${HARBORD:?}
page=$srcdir/man/harbord.conf.5.in
tmp=$(mktemp -d "${TMPDIR:-/tmp}/confex.XXXXXX") || exit 99
chmod 755 "$tmp"
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The first and second literal displays of EXAMPLES: the configuration,
# then the quote file; roff escapes undone.
examples() {
	awk -v want="$1" '
		/^\.Sh / { in_ex = ($2 == "EXAMPLES") }
		in_ex && /^\.Bd -literal/ { n++; on = (n == want); next }
		in_ex && /^\.Ed/ { on = 0 }
		on { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print }
	' "$page"
}
conf=$(examples 1)
quotes=$(examples 2)
if [ -z "$conf" ] || [ -z "$quotes" ]; then
	echo "no EXAMPLES in $page"
	exit 99
fi
quote_path=$(printf '%s\n' "$conf" | sed -n 's/^[[:space:]]*quote-file "\(.*\)"$/\1/p')
[ -n "$quote_path" ] || { echo "the example has no quote-file"; exit 99; }

mkdir -p "$tmp/log" "$tmp/run" "$tmp/harbord.d"
printf '%s\n' "$quotes" >"$tmp/quotes"
chmod 644 "$tmp/quotes"
printf '%s\n' "$conf" | sed \
    -e "s|@localstatedir@|$tmp|g" -e "s|@runstatedir@|$tmp/run|g" \
    -e "s|$quote_path|$tmp/quotes|" -e 's|192\.0\.2\.10|127.0.0.2|g' \
    >"$tmp/harbord.conf"
if grep -q '@[a-z]*@' "$tmp/harbord.conf"; then
	echo "a path the test does not know:"; grep '@[a-z]*@' "$tmp/harbord.conf"
	exit 99
fi

out=$("$harbord" -n -f "$tmp/harbord.conf" 2>&1)
if [ "$out" != "configuration OK" ]; then
	echo "harbord -n on the page's example:"; printf '%s\n' "$out"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: starting it needs root (ports below 1024)"
	exit 77
fi
for port in 7 9 13 17 19 37; do
	if bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
		echo "SKIP: port $port is taken"
		exit 77
	fi
done

# As root with no user named: it serves as nobody.
"$harbord" -f "$tmp/harbord.conf" || { echo "the example did not start"; exit 1; }
pid=$(cat "$tmp/run/harbord.pid")
fail=0
ask() {	# PORT SEND: the first line back (bash's /dev/tcp)
	bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		[ -n "$2" ] && printf "%s\n" "$2" >&3
		IFS= read -r -t 5 line <&3; printf "%s" "$line"' ask "$1" "$2"
}
[ "$(ask 7 hello)" = hello ] || { echo "echo on 7 did not echo"; fail=1; }
[ -n "$(ask 13 '')" ] || { echo "daytime on 13 said nothing"; fail=1; }
[ -n "$(ask 19 '')" ] || { echo "chargen on 19 said nothing"; fail=1; }
q=$(ask 17 '')
case "$q" in
"The best way"* | "Simplicity"*) ;;
*) echo "qotd on 17 said '$q', not a quote of the page's"; fail=1 ;;
esac
bash -c 'exec 3<>/dev/tcp/127.0.0.2/7' 2>/dev/null ||
    { echo "echo does not listen on 127.0.0.2:7"; fail=1; }
grep -q "serving as user nobody" "$tmp/log/harbord.log" ||
    { echo "not serving as nobody:"; cat "$tmp/log/harbord.log"; fail=1; }
kill -TERM "$pid"
n=0
while [ -e "$tmp/run/harbord.pid" ] && [ "$n" -lt 400 ]; do sleep 0.05; n=$((n + 1)); done
[ -e "$tmp/run/harbord.pid" ] && { echo "still running after SIGTERM"; fail=1; }
pid=
exit $fail
