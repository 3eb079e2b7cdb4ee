#!/bin/sh
# Builds static MinGW-w64 libevent and Check, which Debian does not ship,
# from Debian's own source packages, into a prefix that the Windows cross
# build finds with
#
#	PKG_CONFIG_LIBDIR=PREFIX/lib/pkgconfig \
#	    ./configure --host=x86_64-w64-mingw32 --disable-shared
#
# usage: contrib/mingw/build-deps.sh [PREFIX]	(default: .cache/mingw in
# the source tree).  Nothing is rebuilt when PREFIX already holds both.
# Needs Debian or Ubuntu; as root it installs the packages and the deb-src
# entry it needs, otherwise it says what is missing.
set -eu

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
prefix=${1:-$srcdir/.cache/mingw}
host=${MINGW_HOST:-x86_64-w64-mingw32}
jobs=$(nproc 2>/dev/null || echo 2)
# Changing how the libraries are built must change this, so that an old
# cache is not taken for a good one.
recipe=2

case $prefix in
/*) ;;
*) prefix=$(pwd)/$prefix ;;
esac
stamp=$prefix/.harbord-deps

say() { printf 'build-deps: %s\n' "$*"; }
die() { printf 'build-deps: %s\n' "$*" >&2; exit 1; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$host $recipe" ] &&
    [ -f "$prefix/lib/libevent_core.a" ] && [ -f "$prefix/lib/libcheck.a" ] &&
    [ -f "$prefix/lib/pkgconfig/libevent_core.pc" ] &&
    [ -f "$prefix/lib/pkgconfig/check.pc" ]; then
	say "$prefix already holds libevent and Check for $host"
	exit 0
fi

# --- what the build needs ----------------------------------------------------
pkgs="gcc-mingw-w64-x86-64 dpkg-dev make autoconf automake libtool pkg-config"
missing=
for p in $pkgs; do
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

# apt-get source needs deb-src entries: the same archives as the deb ones.
if [ -z "$(apt-cache showsrc libevent 2>/dev/null)" ]; then
	[ "$(id -u)" = 0 ] || die "apt has no deb-src entries: add some " \
	    "(see README, Testing) or run this as root"
	deb822=/etc/apt/sources.list.d/debian.sources
	[ -f "$deb822" ] || die "no $deb822 to take the deb-src entries from"
	say "adding deb-src entries (/etc/apt/sources.list.d/harbord-deb-src.sources)"
	sed 's/^Types:.*/Types: deb-src/' "$deb822" \
	    >/etc/apt/sources.list.d/harbord-deb-src.sources
	apt-get update -qq
fi

# --- sources -------------------------------------------------------------------
work=$prefix/build
rm -rf "$work"
mkdir -p "$work" "$prefix"
cd "$work"
say "fetching Debian's libevent and check source packages"
# Debian's libevent patches are security fixes: keep them.  One touches
# Makefile.am, so the generated files are made newer again below rather
# than have make rerun automake.  Check's patches only change how Debian
# links it (-lcheck_pic), so they are skipped.
apt-get source -qq libevent >/dev/null 2>&1 || apt-get source libevent
apt-get source -qq --download-only check >/dev/null 2>&1 ||
	apt-get source --download-only check
dpkg-source -x --skip-patches check_*.dsc >/dev/null 2>&1
levsrc=$(find . -maxdepth 1 -type d -name 'libevent-*' | head -n 1)
cksrc=$(find . -maxdepth 1 -type d -name 'check-*' | head -n 1)
[ -n "$levsrc" ] && [ -n "$cksrc" ] || die "source packages did not unpack"

# --- libevent --------------------------------------------------------------------
say "building libevent ($levsrc) for $host"
(
	cd "$levsrc"
	touch aclocal.m4
	touch configure Makefile.in config.h.in
	./configure -q --host="$host" --prefix="$prefix" \
	    --disable-shared --enable-static --disable-openssl \
	    --disable-samples --disable-libevent-regress \
	    --disable-doxygen-html >../libevent-configure.log 2>&1 ||
		{ tail -n 30 ../libevent-configure.log; exit 1; }
	make -j"$jobs" >../libevent-make.log 2>&1 ||
		{ tail -n 30 ../libevent-make.log; exit 1; }
	make install >>../libevent-make.log 2>&1
)

# --- Check -------------------------------------------------------------------------
say "building Check ($cksrc) for $host"
(
	cd "$cksrc"
	# Windows has no fork(): Check runs tests in the calling process
	# (CK_FORK=no); the build docs need texinfo, which is not wanted.
	# clock_gettime is winpthreads': without it in LIBS, Check builds
	# its own, which on Windows always says 0, and every deadline in
	# the tests would stand still.
	./configure -q --host="$host" --prefix="$prefix" LIBS=-lpthread \
	    --disable-shared --enable-static --disable-build-docs \
	    --disable-subunit --disable-fork >../check-configure.log 2>&1 ||
		{ tail -n 30 ../check-configure.log; exit 1; }
	make -j"$jobs" -C lib >../check-make.log 2>&1 &&
	make -j"$jobs" -C src >>../check-make.log 2>&1 ||
		{ tail -n 30 ../check-make.log; exit 1; }
	make -C lib install >>../check-make.log 2>&1
	make -C src install >>../check-make.log 2>&1
	make install-pkgconfigDATA >>../check-make.log 2>&1 ||
		make install-data-am >>../check-make.log 2>&1
)

# --- pkg-config files fit for static linking -----------------------------------
# Only static libraries are here, so what the .pc files keep for static
# links (Libs.private) belongs in Libs: then a plain pkg-config, as
# configure runs it, names everything a program needs.  libevent's list
# lacks iphlpapi (GetAdaptersAddresses, for evutil's address checks).
cd "$prefix/lib/pkgconfig"
for pc in *.pc; do
	priv=$(sed -n 's/^Libs.private:[[:space:]]*//p' "$pc")
	case $pc in
	libevent*.pc) priv="$priv -liphlpapi -lws2_32" ;;
	esac
	[ -n "$priv" ] || continue
	sed -e "s|^Libs:\(.*\)$|Libs:\1 $priv|" -e '/^Libs.private:/d' \
	    "$pc" >"$pc.new"
	mv "$pc.new" "$pc"
done

rm -rf "$work"
echo "$host $recipe" >"$stamp"
say "done: PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig"
