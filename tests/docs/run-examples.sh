#!/usr/bin/env bash
# Run the examples of documents against a real daemon and compare what they
# print with what the documents show.
#
#   run-examples.sh DOCUMENT...       (environment as in make check)
#
# What counts as an example, and how output is written, is described in
# extract-examples.awk. Each document gets a daemon of its own and one shell
# session, in a scratch directory, in which its examples run in order:
# $SHMBROKER_SOCKET names the daemon, the build directory is first in $PATH
# (shmbrokerctl, shmbrokerd), "sudo" runs its command as it is (this user
# started the daemon, so its admin socket admits it), and "pkg-config
# --cflags --libs libshmbroker" answers for the library of this build, with
# -Wall -Wextra so that a warning shows as unexpected output.
#
# A command's output is standard output and error together, compared with
# the lines shown after it, trailing newlines aside. "..." stands for any
# text: a line of its own for one or more lines, within a line for part of
# it. A last line "(exit status N)" means the command exits N; otherwise it
# must exit 0. Commands put in the background with "&" are compared when
# their block ends (the runner waits for them there).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build=$(cd "$(dirname "${SHMBROKERD:?run through make check}")" && pwd)
tmp=$(mktemp -d /tmp/shmbroker-doc-examples.XXXXXX)
__dt_daemon=
trap '[ -n "$__dt_daemon" ] && kill "$__dt_daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
__dt_failures=0

mkdir -p "$tmp/bin"
cat >"$tmp/bin/pkg-config" <<EOF
#!/bin/sh
# pkg-config for the uninstalled library of this build, as the examples use it.
for a in "\$@"; do
        case \$a in
        --cflags) printf '%s ' "-Wall -Wextra -I$srcdir/client ${SHMB_SANITIZED:-}" ;;
        --libs) printf '%s ' "-L$build/.libs -lshmbroker -Wl,-rpath,$build/.libs ${SHMB_SANITIZED:-}" ;;
        libshmbroker) ;;
        *) echo "pkg-config (examples): only --cflags --libs libshmbroker" >&2; exit 1 ;;
        esac
done
echo
EOF
chmod +x "$tmp/bin/pkg-config"

__dt_fail() {
        echo "not ok - $*"
        __dt_failures=$((__dt_failures + 1))
}

# Does text $1 match the shown text $2, where "..." stands for any text?
__dt_matches() {
        local rest=$1 want=$2 part first=1
        while [[ $want == *"..."* ]]; do
                part=${want%%...*}
                want=${want#*...}
                if [ $first = 1 ]; then
                        [[ $rest == "$part"* ]] || return 1
                        rest=${rest#"$part"}
                        first=0
                else
                        [[ $rest == *"$part"* ]] || return 1
                        rest=${rest#*"$part"}
                fi
        done
        if [ $first = 1 ]; then
                [[ $rest == "$want" ]]
        else
                [[ $rest == *"$want" ]]
        fi
}

__dt_start_daemon() {
        local d=$1
        mkdir -p "$d/run" "$d/work"
        "$SHMBROKERD" --socket "$d/run/shmbrokerd.sock" --state-dir "$d/run/state" --runtime-dir "$d/run/rt" \
                2>"$d/daemon.log" &
        __dt_daemon=$!
        for _ in $(seq 200); do
                [ -S "$d/run/shmbrokerd.sock" ] && [ -S "$d/run/admin.sock" ] && return 0
                sleep 0.05
        done
        return 1
}

__dt_stop_daemon() {
        kill -TERM "$__dt_daemon" 2>/dev/null
        wait "$__dt_daemon" 2>/dev/null
        __dt_daemon=
}

# Compare the commands of the block that just ended (after $__dt_block_first, up to $__dt_n).
__dt_check_block() {
        local i actual want status wantstatus
        for ((i = __dt_block_first + 1; i <= __dt_n; i++)); do
                actual=$(cat "$__dt_dir/out.$i")
                want=$(cat "$__dt_dir/want.$i")
                status=$(cat "$__dt_dir/status.$i")
                wantstatus=0
                if [[ $want =~ (^|$'\n')\(exit\ status\ ([0-9]+)\)$ ]]; then
                        wantstatus=${BASH_REMATCH[2]}
                        want=${want%"${BASH_REMATCH[0]}"}
                fi
                if [ "$status" != "$wantstatus" ] || ! __dt_matches "$actual" "$want"; then
                        __dt_fail "$(cat "$__dt_dir/where.$i"): \$ $(cat "$__dt_dir/cmd.$i")"
                        echo "    exit status $status, expected $wantstatus; output:"
                        sed 's/^/    | /' "$__dt_dir/out.$i"
                        echo "    shown in the document:"
                        printf '%s\n' "$want" | sed 's/^/    | /'
                else
                        echo "ok - $(cat "$__dt_dir/where.$i"): \$ $(head -n 1 "$__dt_dir/cmd.$i")"
                fi
        done
}

# Run the command in $__dt_dir/cmd.$__dt_n in this shell, so that variables, cd and jobs carry over.
__dt_run() {
        local cmd
        cmd=$(cat "$__dt_dir/cmd.$__dt_n")
        (exit 0)
        eval "$cmd" </dev/null >"$__dt_dir/out.$__dt_n" 2>&1
        echo $? >"$__dt_dir/status.$__dt_n"
}

__dt_document() {
        local doc=$1 format=markdown tag a b c line rel
        case $doc in
        *.md) format=markdown ;;
        *.[0-9]) format=roff ;;
        esac
        rel=${doc#"$srcdir/"}
        __dt_dir=$tmp/$(basename "$doc")
        mkdir -p "$__dt_dir"
        awk -v format=$format -f "$here/extract-examples.awk" "$doc" >"$__dt_dir/records" || {
                __dt_fail "$rel: cannot extract its examples"
                return
        }
        if grep -q '^X' "$__dt_dir/records"; then
                grep '^X' "$__dt_dir/records" | while IFS=$'\t' read -r _ a b; do
                        echo "not ok - ${a#"$srcdir/"}: $b"
                done
                __dt_failures=$((__dt_failures + $(grep -c '^X' "$__dt_dir/records")))
                return
        fi
        if ! grep -q '^B' "$__dt_dir/records"; then
                echo "ok - $rel: no examples"
                return
        fi
        __dt_start_daemon "$__dt_dir" || {
                __dt_fail "$rel: the daemon did not start"
                cat "$__dt_dir/daemon.log"
                return
        }
        __dt_n=0
        (
                __dt_failures=0
                cd "$__dt_dir/work" || exit 1
                export SHMBROKER_SOCKET=$__dt_dir/run/shmbrokerd.sock PATH=$build:$tmp/bin:$PATH
                unset SHMBROKER_ADMIN_SOCKET
                sudo() { "$@"; }
                __dt_kind=
                while IFS= read -r line; do
                        tag=${line:0:1}
                        line=${line:2}
                        case $tag in
                        B)
                                IFS=$'\t' read -r __dt_kind a __dt_where <<<"$line"
                                __dt_where=${__dt_where#"$srcdir/"}
                                __dt_block_first=$__dt_n
                                __dt_file=$a
                                [ "$__dt_kind" = file ] && : >"$__dt_file"
                                ;;
                        C)
                                [ $__dt_n -gt $__dt_block_first ] && __dt_run
                                __dt_n=$((__dt_n + 1))
                                printf '%s\n' "${line#*$'\t'}" >"$__dt_dir/cmd.$__dt_n"
                                : >"$__dt_dir/want.$__dt_n"
                                echo "${__dt_where%:*}:${line%%$'\t'*}" >"$__dt_dir/where.$__dt_n"
                                ;;
                        c) printf '%s\n' "$line" >>"$__dt_dir/cmd.$__dt_n" ;;
                        O) printf '%s\n' "$line" >>"$__dt_dir/want.$__dt_n" ;;
                        F) printf '%s\n' "$line" >>"$__dt_file" ;;
                        E)
                                if [ "$__dt_kind" = session ]; then
                                        [ $__dt_n -gt $__dt_block_first ] && __dt_run
                                        wait
                                        __dt_check_block
                                fi
                                __dt_kind=
                                ;;
                        esac
                done <"$__dt_dir/records"
                exit "$__dt_failures"
        )
        __dt_failures=$((__dt_failures + $?))
        __dt_stop_daemon
        if grep -qE 'Assertion|AddressSanitizer|runtime error' "$__dt_dir/daemon.log"; then
                __dt_fail "$rel: the daemon reported a problem"
                cat "$__dt_dir/daemon.log"
        fi
}

for doc in "$@"; do
        __dt_document "$(cd "$(dirname "$doc")" && pwd)/$(basename "$doc")"
done
if [ "$__dt_failures" -gt 0 ]; then
        echo "FAIL: $__dt_failures examples differ from what their documents show"
        exit 1
fi
