#!/bin/sh
# The Windows build, proven on Debian: cross-compiles harbord, libharbor
# and the test suites with MinGW-w64 in a build directory of its own and
# runs make check there, every test program under wine.  Exits non-zero
# when the build or any test fails.
#
# usage: contrib/mingw/check.sh [BUILDDIR]	(default: build-mingw in the
# source tree).  MINGW_DEPS names the libevent/Check prefix (default:
# .cache/mingw in the source tree; see build-deps.sh), WINEPREFIX the wine
# prefix (default: one inside BUILDDIR).  Needs root the first time, to
# install the packages.
#
# This proves the build, Winsock and the thread code under wine, not on a
# Windows host.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=${1:-$srcdir/build-mingw}
host=x86_64-w64-mingw32
deps=${MINGW_DEPS:-$srcdir/.cache/mingw}
jobs=$(nproc 2>/dev/null || echo 2)

case $builddir in
/*) ;;
*) builddir=$(pwd)/$builddir ;;
esac

say() { printf 'mingw-check: %s\n' "$*"; }
die() { printf 'mingw-check: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

t0=$(now)
missing=
for p in wine wine64; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] || die "install these first:$missing"
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq $missing >/dev/null
fi

"$srcdir/contrib/mingw/build-deps.sh" "$deps"
t1=$(now)

# A copy of the sources: the source tree may be configured in place (as
# CI does), and then automake refuses a build directory beside it.  The
# files git tracks, as they are now, or the whole tree without git.
say "copying the sources to $builddir/src"
rm -rf "$builddir"
mkdir -p "$builddir/src"
if git -C "$srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$srcdir" && git ls-files -z | xargs -0 tar -cf - --no-recursion) |
	    tar -xf - -C "$builddir/src"
else
	(cd "$srcdir" && tar -cf - --exclude=./.cache --exclude='./build*' \
	    --exclude=./autom4te.cache .) | tar -xf - -C "$builddir/src"
fi

cd "$builddir/src"
say "configuring for $host"
autoreconf -fi >"$builddir/autoreconf.log" 2>&1 ||
	{ cat "$builddir/autoreconf.log"; exit 1; }
# Static: the test programs then need no DLL beside them under wine.
PKG_CONFIG_LIBDIR=$deps/lib/pkgconfig ./configure -q --host=$host \
    --disable-shared --enable-static --enable-werror
say "building"
make -j"$jobs" >"$builddir/make.log" 2>&1 ||
	{ tail -n 50 "$builddir/make.log"; exit 1; }
t2=$(now)

# wine's first start makes its prefix: once, before tests run in parallel.
WINEPREFIX=${WINEPREFIX:-$builddir/wineprefix}
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES
say "starting wine ($WINEPREFIX)"
wineboot -i >/dev/null 2>&1 || true

say "make check under wine"
status=0
make -j"$jobs" check || status=$?
t3=$(now)
if [ "$status" != 0 ]; then
	for log in tests/*.log; do
		case $(sed -n 's/^:test-result: //p' "${log%.log}.trs" \
		    2>/dev/null) in
		FAIL|ERROR) printf '\n==== %s ====\n' "$log"; tail -n 80 "$log" ;;
		esac
	done
fi
grep -h '^SKIP' tests/*.log 2>/dev/null | sort -u | sed 's/^/  /' || true
wineserver -k >/dev/null 2>&1 || true
say "times: deps $((t1 - t0)) s, build $((t2 - t1)) s, tests $((t3 - t2)) s"
exit "$status"
