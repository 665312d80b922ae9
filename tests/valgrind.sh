#!/usr/bin/env bash
# Run integration tests with every shmbrokerd they start under valgrind
# (memcheck, full leak check). Fails if a test fails or if any daemon
# instance reports a memory error or a definite leak.
#
#   tests/valgrind.sh BUILDDIR [TEST...]      (make check-valgrind)
#
# TEST defaults to every integration test program. Daemons that a test
# kills with SIGKILL report nothing; every other instance exits through
# manager_free() and is checked. The tests named in $VALGRIND_CLIENT_TESTS
# also run under valgrind themselves (without forking per check), so that
# memory errors of the client library in their process are caught too.
# Logs stay in $VALGRIND_LOGDIR if set, else in a temporary directory that
# is removed on success.
set -uo pipefail

builddir=$(cd "${1:?usage: tests/valgrind.sh BUILDDIR [TEST...]}" && pwd)
shift
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(test-lifecycle test-security test-robustness test-ctl test-backends test-attacks test-faults)

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (Debian: valgrind)" >&2; exit 77; }
logdir=${VALGRIND_LOGDIR:-$(mktemp -d "${TMPDIR:-/tmp}/shmbroker-valgrind.XXXXXX")}
mkdir -p "$logdir"

# The harness execs $SHMBROKERD; this wrapper execs valgrind in the same process, so pids, fds and
# signals reach the daemon as before. Valgrind's own fds sit above the daemon's and do not change
# while it runs, so the tests' fd-count baselines still hold.
wrapper=$logdir/shmbrokerd
cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \\
        --error-exitcode=99 --log-file="$logdir/vg.%p.log" "$builddir/shmbrokerd" "\$@"
EOF
chmod +x "$wrapper"

client_tests=" ${VALGRIND_CLIENT_TESTS:-} "
status=0
for t in "${tests[@]}"; do
        start=$SECONDS
        run=("$builddir/$t")
        fork=yes
        if [[ $client_tests == *" $t "* ]]; then
                # libtool's wrapper script runs the real program under valgrind.
                run=("$builddir/libtool" --mode=execute valgrind --leak-check=full --errors-for-leak-kinds=definite
                        --show-leak-kinds=definite --error-exitcode=99 --log-file="$logdir/vg.$t.%p.log"
                        "$builddir/$t")
                fork=no
        fi
        # TCases tagged no-valgrind test what valgrind itself changes (the daemon's fd limit).
        if SHMBROKERD=$wrapper SHMBROKERCTL=$builddir/shmbrokerctl CK_TIMEOUT_MULTIPLIER=10 CK_VERBOSITY=normal \
                CK_EXCLUDE_TAGS=no-valgrind CK_FORK=$fork "${run[@]}" >"$logdir/$t.log" 2>&1; then
                result=PASS
        else
                result=FAIL
                status=1
        fi
        echo "$result: $t under valgrind ($((SECONDS - start)) s) $(grep -E '^[0-9]+%: Checks' "$logdir/$t.log")"
        [ $result = PASS ] || grep -E ':[FE]:' "$logdir/$t.log" | head -20
done

instances=0
bad=()
for log in "$logdir"/vg.*.log; do
        [ -f "$log" ] || continue
        instances=$((instances + 1))
        if grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$log"; then
                bad+=("$log")
        fi
done
echo "valgrind: $instances daemon and client instances, ${#bad[@]} with errors or definite leaks"
for log in "${bad[@]}"; do
        echo "=== $log"
        cat "$log"
        status=1
done
if [ $status -eq 0 ] && [ -z "${VALGRIND_LOGDIR:-}" ]; then
        rm -rf "$logdir"
else
        echo "valgrind: logs in $logdir"
fi
exit $status
