#!/usr/bin/env bash
# The manual: every function the library exports (client/libshmbroker.sym)
# has a page, or an alias page (".so") to the page that describes it, and is
# installed (dist_man_MANS in Makefile.am); every function page names it, and
# has RETURN VALUE, ERRORS and EXAMPLES; groff renders every page without a
# warning; and the EXAMPLES of every page run (see run-examples.sh): their
# programs compile without a warning and print what the page shows.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
failures=0
fail() {
        echo "not ok - $*"
        failures=$((failures + 1))
}

# The names a page's NAME section describes.
names_of() { sed -n '/^\.SH NAME/,/^\.SH/p' "$1" | sed '1d;$d' | tr '\n' ' ' | sed 's/\\-.*//; s/,/ /g'; }

for sym in $(sed -n 's/^[[:space:]]*\(shmb_[a-z_]*\);$/\1/p' "$top/client/libshmbroker.sym"); do
        page=$top/man/$sym.3
        if [ ! -f "$page" ]; then
                fail "$sym: no man/$sym.3"
                continue
        fi
        grep -qE "(^|[[:space:]])man/$sym\.3([[:space:]]|$)" "$top/Makefile.am" || fail "$sym: man/$sym.3 is not installed"
        target=$page
        if head -n 1 "$page" | grep -q '^\.so '; then
                target=$top/man/$(sed -n '1s|^\.so man3/||p' "$page")
                [ -f "$target" ] || { fail "$sym: its alias names a missing page"; continue; }
        fi
        [[ " $(names_of "$target") " == *" $sym "* ]] || fail "$sym: ${target#"$top/"} does not name it"
        for section in SYNOPSIS DESCRIPTION "RETURN VALUE" ERRORS EXAMPLES "SEE ALSO"; do
                grep -q "^\.SH \"\?$section\"\?$" "$target" || fail "$sym: ${target#"$top/"} has no $section"
        done
        grep -q "^\.BI \"[^\"]*[ *]$sym(" "$target" || fail "$sym: not in the SYNOPSIS of ${target#"$top/"}"
        echo "ok - $sym: ${target#"$top/"}"
done

pages=()
for page in "$top"/man/*.[0-9]; do
        head -n 1 "$page" | grep -q '^\.so ' && continue
        pages+=("$page")
        if command -v groff >/dev/null; then
                out=$(groff -man -ww -z "$page" 2>&1)
                [ -z "$out" ] || fail "${page#"$top/"}: groff warns: $out"
        fi
        grep -q '^\.SH EXAMPLES' "$page" && ! grep -q '^\.\\" file: ' "$page" && [[ $page == *.3 ]] &&
                fail "${page#"$top/"}: no example program"
done
"$here/run-examples.sh" "${pages[@]}" || failures=$((failures + 1))
[ "$failures" -eq 0 ] || { echo "FAIL: $failures"; exit 1; }
