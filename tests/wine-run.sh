#!/bin/sh
# The LOG_COMPILER of a Windows cross build: runs one test program under
# wine, headless.  wine's debugger is disabled so that a crash is a failure
# rather than a dialog or an exit code of 0, and mono and gecko are never
# offered.  Check cannot fork on Windows, so tests run in the test
# program's own process (CK_FORK=no) with no per-test timeout of Check's:
# the whole program gets one here instead.
WINEDEBUG=${WINEDEBUG:--all}
WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
CK_FORK=no
export WINEDEBUG WINEDLLOVERRIDES CK_FORK
exec timeout -k 10 "${HARBOR_WINE_TIMEOUT:-300}" "${WINE:-wine}" "$@"
