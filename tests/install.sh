#!/bin/sh
# make install, into a scratch DESTDIR, of the build tree this runs in: the
# daemon's manual, the example configurations (harbord's, HAProxy's) and
# the init files it installs name the directories this build was
# configured with (no @word@ is left in any text file installed); the
# example configuration is there as harbord.conf.sample; and a
# harbord.conf already in place survives both make install and make
# uninstall.
set -u

builddir=${HARBOR_TEST_BUILDDIR:?}
sbindir=${HARBOR_SBINDIR:?}
sysconfdir=${HARBOR_SYSCONFDIR:?}
localstatedir=${HARBOR_LOCALSTATEDIR:?}
runstatedir=${HARBOR_RUNSTATEDIR:?}
mandir=${HARBOR_MANDIR:?}
docdir=${HARBOR_DOCDIR:?}
make=${MAKE:-make}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
fail=0
checks=0

bad() {
	echo "$*"
	fail=1
}

# run_make TARGET: make TARGET DESTDIR=$dest in the build tree.  The flags
# of the make that runs the tests (-j and its job server) are not this
# one's.
run_make() {
	if ! (cd "$builddir" && MAKEFLAGS='' MFLAGS='' \
	    "$make" "$1" DESTDIR="$dest") >"$tmp/$1.log" 2>&1; then
		cat "$tmp/$1.log"
		echo "make $1 DESTDIR=$dest failed"
		exit 1
	fi
}

admin_conf=$dest$sysconfdir/harbord.conf
mkdir -p "$dest$sysconfdir" || exit 99
echo "# the administrator's own" >"$admin_conf" || exit 99
cp "$admin_conf" "$tmp/admin.conf" || exit 99

run_make install

unit=$dest$docdir/systemd/harbord.service
socket_unit=$dest$docdir/systemd/harbord.socket
init=$dest$docdir/sysvinit/harbord
rotate=$dest$docdir/logrotate/harbord
openrc=$dest$docdir/openrc/harbord
rcd=$dest$docdir/freebsd/harbord
plist=$dest$docdir/launchd/org.harbord.harbord.plist
haproxy=$dest$docdir/haproxy/haproxy.cfg
example=$dest$docdir/harbord.conf.example
sample=$dest$sysconfdir/harbord.conf.sample
daemon=$dest$sbindir/harbord${EXEEXT:-}
ctl=$dest$sbindir/harborctl${EXEEXT:-}

checks=$((checks + 1))
for f in "$daemon" "$ctl" "$unit" "$socket_unit" "$init" "$rotate" "$openrc" \
    "$rcd" "$plist" "$haproxy" "$example" "$sample" \
    "$dest$mandir/man8/harbord.8" \
    "$dest$mandir/man8/harborctl.8" "$dest$mandir/man5/harbord.conf.5"; do
	[ -f "$f" ] || bad "not installed: ${f#"$dest"}"
done
[ "$fail" = 0 ] || exit 1

checks=$((checks + 1))
cmp -s "$example" "$sample" ||
	bad "${sample#"$dest"} differs from ${example#"$dest"}"
cmp -s "$tmp/admin.conf" "$admin_conf" ||
	bad "make install changed the existing ${admin_conf#"$dest"}"

# Nothing is left for configure or make to fill in.
checks=$((checks + 1))
grep -rIlE '@[A-Za-z_][A-Za-z0-9_]*@' "$dest" >"$tmp/unfilled"
while read -r f; do
	bad "${f#"$dest"}: not filled in:" \
	    "$(grep -oE '@[A-Za-z_][A-Za-z0-9_]*@' "$f" | sort -u | tr '\n' ' ')"
done <"$tmp/unfilled"

# Each command of the unit that runs harbord runs the installed one.
checks=$((checks + 1))
grep '^Exec[A-Za-z]*=.*harbord' "$unit" >"$tmp/exec"
grep -q '^ExecStart=' "$tmp/exec" || bad "${unit#"$dest"}: no ExecStart runs harbord"
while read -r line; do
	case $line in
	Exec*="$sbindir/harbord "* | Exec*="$sbindir/harborctl "*) ;;
	*) bad "${unit#"$dest"}: '$line' does not run $sbindir/harbord" ;;
	esac
done <"$tmp/exec"

# The init script's paths.
checks=$((checks + 1))
for line in "DAEMON=$sbindir/harbord" "CONFIG=$sysconfdir/harbord.conf" \
    "PIDFILE=$runstatedir/harbord.pid"; do
	grep -qxF "$line" "$init" || bad "${init#"$dest"}: no line '$line'"
done

# The OpenRC script's and the rc.d script's paths: their defaults, which
# conf.d and rc.conf may change.
checks=$((checks + 1))
for line in "command=\"$sbindir/harbord\"" \
    ": \"\${HARBORD_CONFIG:=$sysconfdir/harbord.conf}\"" \
    ": \"\${HARBORD_PIDFILE:=$runstatedir/harbord.pid}\""; do
	grep -qxF "$line" "$openrc" || bad "${openrc#"$dest"}: no line '$line'"
done
for line in "command=\"$sbindir/harbord\"" \
    ": \"\${harbord_config:=$sysconfdir/harbord.conf}\"" \
    ": \"\${harbord_pidfile:=$runstatedir/harbord.pid}\""; do
	grep -qxF "$line" "$rcd" || bad "${rcd#"$dest"}: no line '$line'"
done

# plist_strings KEY: the string the launchd job gives KEY, or each string
# of the array it gives it, one a line.  The file has an element a line.
plist_strings() {
	sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$plist" | awk -v key="$1" '
		$0 == "<key>" key "</key>" { on = 1; next }
		!on { next }
		$0 == "<array>" { array = 1; next }
		/^<string>.*<\/string>$/ {
			sub(/^<string>/, ""); sub(/<\/string>$/, ""); print
			if (array) next
		}
		{ exit }
	'
}

# The launchd job: its label, and the installed harbord in the foreground
# (-d) with the configured configuration, logging to the configured log.
checks=$((checks + 1))
[ "$(plist_strings Label)" = org.harbord.harbord ] ||
	bad "${plist#"$dest"}: no Label org.harbord.harbord"
args=$(plist_strings ProgramArguments | paste -s -d ' ' -)
case " $args " in
" $sbindir/harbord "*) ;;
*) bad "${plist#"$dest"}: ProgramArguments '$args' do not run $sbindir/harbord" ;;
esac
case " $args " in
*" -d "*) ;;
*) bad "${plist#"$dest"}: ProgramArguments '$args' do not keep harbord in the foreground (-d)" ;;
esac
case " $args " in
*" -f $sysconfdir/harbord.conf "*) ;;
*) bad "${plist#"$dest"}: ProgramArguments '$args' do not read $sysconfdir/harbord.conf" ;;
esac
[ "$(plist_strings StandardErrorPath)" = "$localstatedir/log/harbord.log" ] ||
	bad "${plist#"$dest"}: standard error does not go to $localstatedir/log/harbord.log"

# logrotate's log file, and the pid file it signals.
checks=$((checks + 1))
grep -qxF "$localstatedir/log/harbord.log {" "$rotate" ||
	bad "${rotate#"$dest"}: does not rotate $localstatedir/log/harbord.log"
grep -qF "kill -USR1 \"\$(cat $runstatedir/harbord.pid)\"" "$rotate" ||
	bad "${rotate#"$dest"}: does not signal the pid in $runstatedir/harbord.pid"

# Wherever a text installed names the configuration, its include
# directory, the pid file or the log, it is the configured one; or the pid
# file in systemd's RuntimeDirectory, which is always under /run.  A path
# ends at a blank, a quote, a parenthesis, a comma, ; or =, and at the
# brackets of the launchd job's tags.
checks=$((checks + 1))
grep -rIoE '[^[:space:]"'\''(),;=<>]*/harbord\.(conf|d/|pid|log)[A-Za-z0-9_.]*' \
    "$dest" >"$tmp/paths"
while IFS= read -r hit; do
	file=${hit%%:*}
	path=${hit#*:}
	while :; do
		case $path in *.) path=${path%.} ;; *) break ;; esac
	done
	case $path in
	"$sysconfdir/harbord.conf" | "$sysconfdir/harbord.d/" | \
	    "$runstatedir/harbord.pid" | "$localstatedir/log/harbord.log" | \
	    /run/harbord/harbord.pid) ;;
	*/harbord.conf | */harbord.d/ | */harbord.pid | */harbord.log)
		bad "${file#"$dest"}: names $path" ;;
	esac
done <"$tmp/paths"

# The daemon reads the configuration the unit and the manual say, and the
# sample is a configuration it takes, where this system runs the daemon.
if [ -z "${EXEEXT:-}" ] && [ -n "${HARBORD:-}" ]; then
	checks=$((checks + 1))
	"$HARBORD" -h 2>&1 | grep -qF "(default $sysconfdir/harbord.conf)" ||
		bad "harbord -h does not name $sysconfdir/harbord.conf"
	if ! "$HARBORD" -n -f "$sample" >"$tmp/sample.out" 2>&1; then
		cat "$tmp/sample.out"
		bad "harbord -n refuses ${sample#"$dest"}"
	fi
fi

# The init files pass their linters, where this system has them: the unit
# as systemd loads it (its commands pointed at the harbord installed here,
# its manual pages looked up here); the LSB, OpenRC and rc.d scripts as
# POSIX sh scripts (openrc-run and rc.subr are sh too; each script marks
# the variables it sets for them); the launchd job as XML, valid to
# Apple's plist DTD where a catalog has a copy, and to plutil on macOS.
if [ -z "${EXEEXT:-}" ] && command -v systemd-analyze >/dev/null 2>&1; then
	checks=$((checks + 1))
	nodoc='/^Documentation=/d'
	command -v man >/dev/null 2>&1 && nodoc=''
	sed -e "s|=$sbindir/harbord |=$daemon |" \
	    -e "s|=$sbindir/harborctl |=$ctl |" \
	    -e "$nodoc" "$unit" \
	    >"$tmp/harbord.service"
	sed -e "$nodoc" "$socket_unit" >"$tmp/harbord.socket"
	# A line it cannot parse is only a warning to systemd, and to verify.
	# The socket unit is verified with the service it starts.
	if ! MANPATH=$dest$mandir systemd-analyze verify \
	    "$tmp/harbord.service" "$tmp/harbord.socket" \
	    >"$tmp/verify.out" 2>&1 ||
	    grep -q 'harbord\.s' "$tmp/verify.out"; then
		cat "$tmp/verify.out"
		bad "systemd-analyze verify: ${unit#"$dest"} or" \
		    "${socket_unit#"$dest"} has the errors above"
	fi
elif [ -z "${EXEEXT:-}" ]; then
	echo "systemd-analyze not found: the unit is not verified"
fi
if [ -z "${EXEEXT:-}" ] && command -v shellcheck >/dev/null 2>&1; then
	checks=$((checks + 1))
	for f in "$init" "$openrc" "$rcd"; do
		shellcheck -s sh "$f" ||
			bad "shellcheck: ${f#"$dest"} has the warnings above"
	done
elif [ -z "${EXEEXT:-}" ]; then
	echo "shellcheck not found: the init scripts are not checked"
fi
plist_dtd="-//Apple//DTD PLIST 1.0//EN"
if [ -z "${EXEEXT:-}" ] && command -v xmllint >/dev/null 2>&1; then
	checks=$((checks + 1))
	valid=
	# Never fetched from apple.com: only a copy a catalog names.
	if command -v xmlcatalog >/dev/null 2>&1; then
		for catalog in ${XML_CATALOG_FILES:-/etc/xml/catalog}; do
			[ -r "$catalog" ] &&
			    xmlcatalog "$catalog" "$plist_dtd" >/dev/null 2>&1 &&
			    valid=--valid
		done
	fi
	[ -n "$valid" ] ||
		echo "no copy of Apple's plist DTD: the launchd job is checked as XML only"
	xmllint --noout --nonet $valid "$plist" ||
		bad "xmllint: ${plist#"$dest"} has the errors above"
elif [ -z "${EXEEXT:-}" ]; then
	echo "xmllint not found: the launchd job is not checked"
fi
if [ -z "${EXEEXT:-}" ] && command -v plutil >/dev/null 2>&1; then
	checks=$((checks + 1))
	plutil -lint "$plist" ||
		bad "plutil: ${plist#"$dest"} has the errors above"
fi

# make uninstall takes back the sample, not the administrator's file.
checks=$((checks + 1))
run_make uninstall
for f in "$sample" "$unit" "$socket_unit" "$init" "$rotate" "$openrc" "$rcd" "$plist" \
    "$example"; do
	[ ! -e "$f" ] || bad "make uninstall left ${f#"$dest"}"
done
cmp -s "$tmp/admin.conf" "$admin_conf" ||
	bad "make uninstall changed or removed ${admin_conf#"$dest"}"

if [ "$fail" = 0 ]; then
	echo "install: $checks checks"
	echo "1 passed, 0 failed"
fi
exit "$fail"
