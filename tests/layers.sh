#!/bin/sh
# The library's layers (doc/layers.txt): each file uses the functions and
# includes the headers only of its own layer and those below; the built-in
# handlers use only the public API, and compat/ (the platform).  Reads the
# objects libtool built (nm) and the sources (their #include lines).
set -u

srcdir=${HARBOR_TEST_SRCDIR:?}/..
NM=${NM:-nm}
table=$srcdir/doc/layers.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/layers.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0

# "FILE LAYER" for every file and header the table names.
awk '
	/^  [0-9] / { layer = $1; name = 1 }
	/^  [0-9] / || (name && /^                    [a-z]/) {
		for (i = (/^  [0-9]/ ? 3 : 1); i <= NF; i++) {
			if ($i ~ /\.h$/ || $i ~ /^compat\//) print $i, layer
			else print "src/" $i, layer
		}
		next
	}
	{ name = 0 }
' "$table" >"$tmp/table"

layer_of() {	# layer_of FILE: its layer, or nothing
	awk -v f="$1" '
		$1 == f { print $2; exit }
		$1 ~ /\*$/ && index(f, substr($1, 1, length($1) - 1)) == 1 {
			print $2; exit
		}' "$tmp/table"
}

# Every library object: its functions, defined and used.
for lo in src/*.lo src/services/*.lo compat/*.lo; do
	[ -f "$lo" ] || continue
	case $lo in src/libharbor*) continue ;; esac
	file=${lo%.lo}
	[ -f "$srcdir/$file.c" ] || continue	# left from an older tree
	layer=$(layer_of "$file")
	if [ -z "$layer" ]; then
		echo "$file: not in doc/layers.txt"
		fail=1
		continue
	fi
	pic_object=none non_pic_object=none
	# shellcheck source=/dev/null
	. "./$lo"
	obj=$(dirname "$lo")/$pic_object
	[ "$pic_object" != none ] && [ -f "$obj" ] ||
	    obj=$(dirname "$lo")/$non_pic_object
	# shellcheck disable=SC2086 # NM may carry its flags ("nm -B")
	$NM "$obj" | awk -v f="$file" -v l="$layer" '
		$2 ~ /^[TDBR]$/ { print "def", $3, f, l }
		$1 == "U" { print "use", $2, f, l }' >>"$tmp/symbols"
done
[ -s "$tmp/symbols" ] || { echo "no objects found: build first"; exit 99; }

awk '
	$1 == "def" { deflayer[$2] = $4; deffile[$2] = $3 }
	$1 == "use" { use[++n] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			split(use[i], u, " ")
			sym = u[2]; file = u[3]; layer = u[4]
			if (!(sym in deflayer))
				continue	# libc, libevent
			if (deffile[sym] == "compat/" sym)
				continue	# a libc function, where libc lacks it
			# compat is the platform, which any module has too.
			if ((layer == 6 || layer == 8) &&
			    sym !~ /^_*harbor_/ && deflayer[sym] >= 1 &&
			    deflayer[sym] < 6) {
				printf "%s: uses %s of %s, not the public API\n",
				    file, sym, deffile[sym]
				bad = 1
			} else if (deflayer[sym] > layer) {
				printf "%s (layer %d): uses %s of %s (layer %d)\n",
				    file, layer, sym, deffile[sym], deflayer[sym]
				bad = 1
			}
		}
		exit bad
	}' "$tmp/symbols" || fail=1

# Every library source: the headers it includes.
for c in "$srcdir"/src/*.c "$srcdir"/src/*.h "$srcdir"/src/services/*.c \
    "$srcdir"/compat/*.c; do
	rel=${c#"$srcdir"/}
	file=${rel%.c}
	layer=$(layer_of "$file")
	[ -n "$layer" ] || layer=$(layer_of "$(basename "$rel")")
	[ -n "$layer" ] || continue	# the daemon's
	# shellcheck disable=SC2013 # header names have no spaces
	for h in $(sed -n 's/^#include "\(.*\)"$/\1/p' "$c"); do
		case $h in autoconfig.h) continue ;; esac
		hl=$(layer_of "$h")
		if [ -z "$hl" ]; then
			echo "$rel: includes $h, which no layer has"
			fail=1
		elif [ "$hl" -gt "$layer" ]; then
			echo "$rel (layer $layer): includes $h (layer $hl)"
			fail=1
		elif { [ "$layer" = 6 ] || [ "$layer" = 8 ]; } &&
		    [ "$hl" -ge 1 ] && [ "$hl" -le 5 ]; then
			echo "$rel: includes $h; only harbor.h is for it"
			fail=1
		fi
	done
done

if [ "$fail" = 0 ]; then
	echo "layers: every file uses and includes only what is at or below it"
	echo "1 passed, 0 failed"
fi
exit "$fail"
