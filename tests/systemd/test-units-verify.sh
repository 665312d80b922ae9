#!/usr/bin/env bash
# The units as "make install" writes them: "systemd-analyze verify" prints
# nothing (it only warns, and still exits 0, on unknown keys or bad values),
# and the sysusers.d and tmpfiles.d snippets apply to an empty root.
# ExecStart= must name an existing file, so the daemon's path is the build's.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian: systemd)"
: "${SHMBROKERD:?run through make check}"
build=$(cd "$(dirname "$SHMBROKERD")" && pwd)
srcdir=$(cd "${srcdir:-$(dirname "$0")/../..}" && pwd)
work=$(mktemp -d /tmp/shmbroker-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0

grep -q '^ExecStart=.*/shmbrokerd ' "$build/systemd/shmbrokerd.service" || { echo "FAIL: no ExecStart= in the unit"; exit 1; }
sed -e "s|^ExecStart=[^ ]*shmbrokerd|ExecStart=$build/shmbrokerd|" "$build/systemd/shmbrokerd.service" \
        >"$work/shmbrokerd.service"
cp "$srcdir/systemd/shmbrokerd.socket" "$srcdir/systemd/shmbrokerd-admin.socket" "$work/"
out=$(cd "$work" && systemd-analyze verify --man=no ./shmbrokerd.socket ./shmbrokerd-admin.socket \
        ./shmbrokerd.service 2>&1)
if [ -n "$out" ]; then
        echo "FAIL: systemd-analyze verify:"
        echo "$out"
        status=1
else
        echo "ok - systemd-analyze verify prints nothing"
fi

if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null && [ "$(id -u)" -eq 0 ]; then
        mkdir -p "$work/root/etc"
        if systemd-sysusers --root="$work/root" "$srcdir/systemd/shmbrokerd.sysusers" >/dev/null 2>&1 &&
                grep -q '^shmbroker:' "$work/root/etc/passwd" &&
                systemd-tmpfiles --root="$work/root" --create "$srcdir/systemd/shmbrokerd.tmpfiles" &&
                [ "$(stat -c %a "$work/root/var/lib/shmbrokerd")" = 750 ]; then
                echo "ok - sysusers.d and tmpfiles.d snippets apply"
        else
                echo "FAIL: sysusers.d or tmpfiles.d snippet"
                status=1
        fi
else
        echo "# sysusers.d/tmpfiles.d check skipped (needs root, systemd-sysusers and systemd-tmpfiles)"
fi
exit $status
