#!/usr/bin/env bash
# Every ```console block of README.md, run against a real daemon: what each
# command prints must be what the README shows (see run-examples.sh). The
# README's C program is examples/share.c, which test-example.sh runs too.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
status=0
awk '/^```c share.c$/ { on = 1; next } on && /^```$/ { on = 0 } on' "$top/README.md" | diff -u "$top/examples/share.c" - ||
        { echo "not ok - README.md's C program differs from examples/share.c"; status=1; }
"$here/run-examples.sh" "$top/README.md" || status=1
exit $status
