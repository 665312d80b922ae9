#!/usr/bin/env bash
# The README's C example (examples/share.c) against a real daemon.
set -euo pipefail
dir=$(mktemp -d /tmp/shmbroker-example.XXXXXX)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
"$SHMBROKERD" --socket "$dir/s.sock" --state-dir "$dir/state" 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/s.sock" ] && break; sleep 0.05; done
out=$(SHMBROKER_SOCKET=$dir/s.sock ./example-share)
echo "$out"
[ "$out" = "child read: hello from the parent" ]
# The segment's lifetime ended with its last holder.
! SHMBROKER_SOCKET=$dir/s.sock "$SHMBROKERCTL" stat greeting 2>/dev/null
