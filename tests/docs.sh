#!/bin/sh
# The library's manual agrees with its header: every function harbor.h
# declares is named by exactly one page of man/*.3, with a synopsis line,
# and every name a page gives is in harbor.h; every page is installed; the
# pages are clean to mandoc -Tlint where mandoc is; and their examples
# compile, where the compiler builds for this system.
set -u

srcdir=${HARBOR_TEST_SRCDIR:?}/..
builddir=${HARBOR_TEST_BUILDDIR:?}
header=$srcdir/src/harbor.h
tmp=$(mktemp -d "${TMPDIR:-/tmp}/docs.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
checks=0

# The functions: a declaration's name begins a line, after its type, and
# is followed by "(".  Types whose "(*" makes them look alike are not.
sed -n 's/^[a-z].*[[:space:]*]\(harbor_[a-z0-9_]*\)(.*/\1/p' "$header" |
    sort -u >"$tmp/declared"
grep -v '^harbor_.*_fn$' "$tmp/declared" >"$tmp/functions"
[ -s "$tmp/functions" ] || { echo "no functions found in $header"; exit 99; }

# The names the pages give (.Nm in NAME) and their synopses (.Fn).
: >"$tmp/named"
for page in "$srcdir"/man/*.3; do
	base=$(basename "$page")
	awk -v page="$base" '
		/^\.Sh / { sec = $2 }
		sec == "NAME" && /^\.Nm / { print $2, page, "name" }
		sec == "SYNOPSIS" && /^\.Fn / { print $2, page, "synopsis" }
	' "$page" >>"$tmp/named"
done

checks=$((checks + 1))
while read -r fn; do
	n=$(awk -v f="$fn" '$1 == f && $3 == "name"' "$tmp/named" | wc -l)
	s=$(awk -v f="$fn" '$1 == f && $3 == "synopsis"' "$tmp/named" | wc -l)
	if [ "$n" -ne 1 ]; then
		echo "harbor.h: $fn is named by $n pages of man/*.3 (not 1)"
		fail=1
	elif [ "$s" -lt 1 ]; then
		echo "harbor.h: $fn has no .Fn in its page's SYNOPSIS"
		fail=1
	fi
done <"$tmp/functions"

checks=$((checks + 1))
while read -r name page kind; do
	case $name in harbor_*|HARBOR_*) ;; *) continue ;; esac
	if ! grep -q "$name" "$header"; then
		echo "man/$page: $kind names $name, which harbor.h lacks"
		fail=1
	fi
done <"$tmp/named"

# Every page is installed, and every page installed is there: as it is
# (dist_man_MANS), or made from man/PAGE.in with the configured paths in it
# (nodist_man_MANS), in the build tree.
checks=$((checks + 1))
# One line, the names separated by single spaces.
mans=$(awk '
	/^(dist|nodist)_man_MANS/ { on = 1; sub(/^[a-z]*_man_MANS *=/, "") }
	on { more = sub(/\\$/, ""); printf "%s ", $0; if (!more) on = 0 }
' "$srcdir/Makefile.am" | tr -s ' \t' '  ')
for page in "$srcdir"/man/*.[0-9] "$srcdir"/man/*.[0-9].in; do
	[ -f "$page" ] || continue
	rel=man/$(basename "$page" .in)
	case " $mans " in
	*" $rel "*) ;;
	*) echo "$rel is not in Makefile.am's dist_man_MANS or nodist_man_MANS"
	   fail=1 ;;
	esac
done
made=""
for rel in $mans; do
	if [ -f "$srcdir/$rel.in" ]; then
		made="$made $builddir/$rel"
		[ -f "$builddir/$rel" ] ||
		    { echo "$rel: not made from $rel.in"; fail=1; }
	elif [ ! -f "$srcdir/$rel" ]; then
		echo "Makefile.am's *_man_MANS: no $rel"
		fail=1
	fi
done

if command -v mandoc >/dev/null 2>&1; then
	checks=$((checks + 1))
	# shellcheck disable=SC2086 # the pages made, one word each
	if ! mandoc -Tlint -W warning "$srcdir"/man/*.[0-9] $made; then
		echo "mandoc -Tlint: the warnings above"
		fail=1
	fi
else
	echo "mandoc not found: the pages' markup is not checked"
fi

# The examples (.Bd -literal in EXAMPLES) compile against harbor.h: those
# of a page make one file, the blocks of functions first, then those of
# statements, each as the body of a function.  Configuration and shell
# are not C.
if [ -n "${CC:-}" ] && [ -z "${EXEEXT:-}" ]; then
	for page in "$srcdir"/man/*.3; do
		base=$(basename "$page" .3)
		awk -v dir="$tmp" -v base="$base" '
			/^\.Sh / { sec = $2 }
			sec == "EXAMPLES" && /^\.Bd -literal/ { n++; on = 1; next }
			on && /^\.Ed/ { on = 0; next }
			on {
				gsub(/\\e/, "\\")
				print > (dir "/" base "-" n ".ex")
			}
		' "$page"
		c=$tmp/$base.c
		printf '%s\n' '#include <sys/types.h>' '#include <sys/socket.h>' \
		    '#include <netinet/in.h>' '#include <err.h>' \
		    '#include <stdio.h>' '#include <stdlib.h>' \
		    '#include <string.h>' '#include "harbor.h"' >"$c"
		: >"$tmp/statements"
		found=0
		for ex in "$tmp/$base"-*.ex; do
			[ -f "$ex" ] || continue
			if grep -q '^service \|^cc \|^module ' "$ex"; then
				continue
			fi
			found=1
			if grep -q '^{$\|^HARBOR_MODULE\|^#include' "$ex"; then
				cat "$ex" >>"$c"
			else
				n=${ex%.ex}
				n=${n##*-}
				{
					echo "void example_$n(void);"
					echo "void example_$n(void) {"
					cat "$ex"
					echo '}'
				} >>"$tmp/statements"
			fi
		done
		[ "$found" = 1 ] || continue
		cat "$tmp/statements" >>"$c"
		checks=$((checks + 1))
		# shellcheck disable=SC2086 # flags are words
		if ! $CC -fsyntax-only -I"$srcdir/src" ${LIBEVENT_CFLAGS:-} \
		    "$c" 2>"$tmp/cc.out"; then
			echo "man/$base.3: its examples do not compile:"
			cat "$tmp/cc.out"
			fail=1
		fi
	done
else
	echo "no compiler for this system: the examples are not compiled"
fi

if [ "$fail" = 0 ]; then
	echo "docs: $(wc -l <"$tmp/functions") functions, each on one page;" \
	    "$checks checks"
	echo "1 passed, 0 failed"
fi
exit "$fail"
