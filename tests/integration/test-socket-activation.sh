#!/usr/bin/env bash
# Socket activation without systemd: systemd-socket-activate holds the
# listening SOCK_SEQPACKET socket and starts shmbrokerd on the first
# connection, passing it as LISTEN_FDS with LISTEN_FDNAMES. The daemon adopts
# the socket named "client" (or, unnamed, the one listening socket) and the
# one named "admin", binds neither --socket nor --admin-socket then, and
# leaves the passed sockets' paths alone at exit.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is missing (Debian: systemd)"
: "${SHMBROKERD:?run through make check}" "${SHMBROKERCTL:?run through make check}"
dir=$(mktemp -d /tmp/shmbroker-sa.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
failures=0

check() {
        local what=$1; shift
        if "$@"; then echo "ok - $what"; else echo "not ok - $what"; failures=$((failures + 1)); fi
}
exe_is() { [ "$(basename "$(readlink "/proc/$pid/exe")")" = "$1" ]; }
wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }

# $1: fdname argument ("" for none); $2: run name
run() {
        local fdname=$1 name=$2 sock=$dir/$2.sock status
        shift 2
        systemd-socket-activate --seqpacket -l "$sock" "$@" ${fdname:+--fdname=$fdname} \
                "$SHMBROKERD" --socket "$dir/$name-own.sock" --admin-socket "$dir/$name-own-admin.sock" \
                --state-dir "$dir/$name-state" \
                --runtime-dir "$dir/$name-run" --log-level debug 2>"$dir/$name.log" &
        pid=$!
        check "$name: socket-activate listens" wait_socket "$sock"
        check "$name: daemon not started before the first connection" exe_is systemd-socket-activate
        check "$name: first connection is served" env SHMBROKER_SOCKET="$sock" "$SHMBROKERCTL" create seg 4K
        check "$name: the daemon runs in its place" exe_is "$(basename "$SHMBROKERD")"
        check "$name: segment listed" sh -c "SHMBROKER_SOCKET='$sock' '$SHMBROKERCTL' ls | grep -q '^seg '"
        check "$name: the daemon adopted the socket" \
                grep -qF "running on $sock (passed by the service manager); admin socket" "$dir/$name.log"
        check "$name: no socket of its own" test ! -e "$dir/$name-own.sock"
        kill -INT "$pid"
        wait "$pid"
        status=$?
        pid=
        check "$name: clean exit" [ "$status" -eq 0 ]
        check "$name: passed socket's path left alone" test -S "$sock"
}

run client named
run "client:admin" two -l "$dir/admin.sock"
check "two: the passed admin socket is adopted" \
        grep -qF "; admin socket $dir/admin.sock (passed by the service manager);" "$dir/two.log"
check "two: no admin socket of its own" test ! -e "$dir/two-own-admin.sock"
run "" unnamed
check "unnamed: the one listening socket is taken" grep -q "Using the passed listening socket" "$dir/unnamed.log"

if [ "$failures" -gt 0 ]; then
        tail -n 20 "$dir"/*.log
        echo "FAIL: $failures checks failed"
        exit 1
fi
echo PASS
