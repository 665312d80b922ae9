#!/usr/bin/env bash
# shmbrokerd's command line and start-up log: --help fits 80 columns and names
# the manual, a wrong command line exits 2 (as shmbrokerctl does), a start
# that fails logs why and no "running" line, a start that succeeds logs one
# short line naming its sockets.
set -uo pipefail
dir=$(mktemp -d /tmp/shmbroker-daemon-cli.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
failures=0
check() {
        local what=$1
        shift
        if "$@"; then echo "ok - $what"; else echo "not ok - $what"; failures=$((failures + 1)); fi
}
status_is() {
        local want=$1
        shift
        "$@" >"$dir/out" 2>"$dir/err"
        [ $? -eq "$want" ]
}
not_grep() { ! grep -q "$@"; }
no_line_over() { ! awk -v max="$1" 'length($0) > max { print "too long: " $0; bad = 1 } END { exit !bad }' "$2"; }

"$SHMBROKERD" --help >"$dir/help"
check "--help exits 0" [ $? -eq 0 ]
check "--help fits 80 columns" no_line_over 80 "$dir/help"
check "--help names the manual" grep -q 'shmbrokerd(8)' "$dir/help"
"$SHMBROKERCTL" --help >"$dir/ctl-help"
check "shmbrokerctl --help fits 80 columns" no_line_over 80 "$dir/ctl-help"
check "shmbrokerctl --help names the manual" grep -q 'shmbrokerctl(1)' "$dir/ctl-help"

check "an unknown option is a usage error (2)" status_is 2 "$SHMBROKERD" --no-such-option
check "an extra argument is a usage error (2)" status_is 2 "$SHMBROKERD" extra
check "a bad limit is a usage error (2)" status_is 2 "$SHMBROKERD" --max-bytes -1
check "... saying what is wrong" grep -q "invalid size '-1' for --max-bytes: a size cannot be negative" "$dir/err"
check "a too large size says so" status_is 2 "$SHMBROKERD" --max-segment-size 99999999999999T
check "... saying it is too large" grep -q "too large" "$dir/err"
check "shmbrokerctl: a usage error is 2 too" status_is 2 "$SHMBROKERCTL" --no-such-option ls

# A start that fails after binding the client socket: the admin socket's directory is a file.
: >"$dir/file"
check "a failed start exits 1" status_is 1 "$SHMBROKERD" --socket "$dir/a.sock" --state-dir "$dir/state" \
        --admin-socket "$dir/file/admin.sock"
check "... says why" grep -q "Cannot use the socket path '$dir/file/admin.sock': Not a directory" "$dir/err"
check "... and claims nothing it did not finish" not_grep -E "Listening|running" "$dir/err"
check "... and leaves no socket" test ! -e "$dir/a.sock"

# A start that works: one line, naming both sockets, no longer than a log line should be.
"$SHMBROKERD" --socket "$dir/b.sock" --state-dir "$dir/state" 2>"$dir/log" &
pid=$!
for _ in $(seq 200); do grep -q running "$dir/log" && break; sleep 0.05; done
check "the start-up line names the sockets" grep -qF \
        "shmbrokerd: info: shmbrokerd $(sed -n 's/^shmbrokerctl //p' <("$SHMBROKERCTL" --version)) running on $dir/b.sock; admin socket $dir/admin.sock (root" \
        "$dir/log"
check "start-up lines stay short" no_line_over $((160 + 2 * ${#dir})) "$dir/log"
check "it is the only line at start" [ "$(wc -l <"$dir/log")" -eq 1 ]
kill -TERM "$pid"
wait "$pid"
check "a clean stop exits 0" [ $? -eq 0 ]
pid=

if [ "$failures" -gt 0 ]; then
        cat "$dir"/log "$dir"/err 2>/dev/null | tail -n 20
        echo "FAIL: $failures checks failed"
        exit 1
fi
