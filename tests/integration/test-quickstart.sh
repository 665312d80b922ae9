#!/usr/bin/env bash
# ./quickstart run with the build as it is (QUICKSTART_NO_BUILD): it says where
# it keeps things, prints the line "./quickstart env" prints, keeps its state
# in one place so that a persistent file segment is there again at the next
# run, stops on Ctrl-C (SIGINT to its process group, as a terminal sends it)
# or SIGTERM, and removes what was only for one run.
set -uo pipefail
srcdir=${srcdir:-.}
quickstart=$(cd "$srcdir" && pwd)/quickstart
build=$(cd "$(dirname "$SHMBROKERD")" && pwd)
dir=$(mktemp -d /tmp/shmbroker-quickstart-test.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
failures=0
check() {
        local what=$1
        shift
        if "$@"; then echo "ok - $what"; else echo "not ok - $what"; failures=$((failures + 1)); fi
}
export QUICKSTART_NO_BUILD=1 QUICKSTART_BUILD=$build QUICKSTART_DIR=$dir/qs
unset SHMBROKER_SOCKET SHMBROKER_ADMIN_SOCKET

# Start it in a process group of its own; $1: output file.
start() {
        setsid "$quickstart" run >"$1" 2>&1 &
        pid=$!
        for _ in $(seq 200); do grep -q " running on " "$1" && return 0; sleep 0.05; done
        return 1
}
stop() {
        kill "-$1" -- "-$pid"
        wait "$pid"
        status=$?
        pid=
}
ctl() { "$SHMBROKERCTL" "$@"; }

check "first run starts" start "$dir/one"
check "it says where the state is kept" grep -qF "quickstart: state directory $dir/qs/state: kept between runs" "$dir/one"
check "it prints the line ./quickstart env prints" grep -qxF "$("$quickstart" env)" "$dir/one"
check "... which is the export line" grep -qxF "export SHMBROKER_SOCKET=$dir/qs/shmbrokerd.sock PATH=$build:\$PATH" "$dir/one"
# README.md shows what it prints: each of these lines, with the paths of a checkout in /home/you/shmbroker.
readme_has() {
        local line
        while IFS= read -r line; do
                case $line in
                quickstart:* | "In another shell"* | "export "*) ;;
                *) continue ;;
                esac
                line=${line//"$dir/qs"/\/home\/you\/shmbroker\/build\/quickstart}
                line=${line//"$build"/\/home\/you\/shmbroker\/build}
                grep -qxF -- "$line" "$srcdir/README.md" || { echo "README.md lacks: $line"; return 1; }
        done <"$1"
}
check "README.md shows what it printed" readme_has "$dir/one"
eval "$("$quickstart" env)"
check "the line points a shell at the daemon" ctl create journal 4K --backend file
check "... and at its admin socket" ctl stats >/dev/null
printf kept | ctl write journal
ctl create scratch 4K
stop INT
check "Ctrl-C stops it cleanly" [ "$status" -eq 0 ]
check "... it says so" grep -qF "quickstart: shmbrokerd stopped (exit status 0); state kept in $dir/qs/state" "$dir/one"
check "the runtime directory of that run is gone" test ! -e "$dir/qs/run"
check "the sockets are gone" test ! -e "$dir/qs/shmbrokerd.sock" -a ! -e "$dir/qs/admin.sock"
check "the state directory stays" test -d "$dir/qs/state"

check "second run starts" start "$dir/two"
check "the persistent file segment is back" [ "$(ctl cat journal | head -c 4)" = kept ]
check "the memfd segment is not" sh -c "! '$SHMBROKERCTL' stat scratch 2>/dev/null"
stop TERM
check "SIGTERM stops it cleanly" [ "$status" -eq 0 ]
check "... and cleans up" test ! -e "$dir/qs/run" -a ! -e "$dir/qs/shmbrokerd.sock"

# A place whose socket path would be too long: the sockets go to a directory of that run only.
long=$dir/$(printf 'x%.0s' $(seq 100))
export QUICKSTART_DIR=$long
check "a long place still starts" start "$dir/three"
sockdir=$(sed -n 's/^export SHMBROKER_SOCKET=\(.*\)\/shmbrokerd.sock .*/\1/p' "$dir/three")
check "... with its sockets elsewhere, saying where" grep -qF "quickstart: sockets in $sockdir" "$dir/three"
check "... that place exists while it runs" test -S "$sockdir/shmbrokerd.sock"
stop INT
check "... and is removed when it stops" test ! -e "$sockdir"
check "... and env refuses to guess" sh -c "! '$quickstart' env 2>/dev/null"

if [ "$failures" -gt 0 ]; then
        tail -n 20 "$dir"/one "$dir"/two "$dir"/three 2>/dev/null
        echo "FAIL: $failures checks failed"
        exit 1
fi
