#!/usr/bin/env bash
# The units under a real systemd, booted in a throw-away container
# (systemd-nspawn --volatile=yes: the host's /usr read-only on a tmpfs root):
# socket activation on the first connection, readiness, a segment's bytes,
# owner and mode surviving "systemctl restart", kill -9 of the main process
# and a watchdog restart, structured journal fields, and no POSIX or
# System V leftovers after "systemctl stop".
#
# Needs root, systemd-nspawn (Debian: systemd-container), nsenter, setpriv
# and ipcs (util-linux), and a D-Bus daemon for the container's system bus
# (Debian: dbus; the daemon asks systemd over it whether a SIGTERM is a stop
# or a restart); exits 77 (skip) naming what is missing.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to boot a container"
for tool in systemd-nspawn nsenter setpriv ipcs; do
        command -v "$tool" >/dev/null || skip "$tool is missing (Debian: systemd-container, util-linux)"
done
[ -x /usr/bin/dbus-daemon ] || [ -x /usr/bin/dbus-broker ] || skip "no D-Bus daemon for the container (Debian: dbus)"
: "${SHMBROKERD:?run through make check}"
build=$(cd "$(dirname "$SHMBROKERD")" && pwd)
srcdir=${srcdir:-$(dirname "$0")/../..}
srcdir=$(cd "$srcdir" && pwd)
[ -x "$build/.libs/shmbrokerctl" ] || skip "no $build/.libs/shmbrokerctl (shared library build needed)"
[ -f "$build/systemd/shmbrokerd.service" ] || skip "no generated $build/systemd/shmbrokerd.service"

work=$(mktemp -d /tmp/shmbroker-units.XXXXXX)
ns_pid=
pid1=
failures=0

cleanup() {
        if [ -n "$pid1" ] && kill -0 "$pid1" 2>/dev/null; then
                nsenter -t "$pid1" -a systemctl poweroff >/dev/null 2>&1 || kill -TERM "$ns_pid" 2>/dev/null
        fi
        if [ -n "$ns_pid" ]; then
                for _ in $(seq 100); do kill -0 "$ns_pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$ns_pid" 2>/dev/null
                wait "$ns_pid" 2>/dev/null
        fi
        rm -rf "$work"
}
trap cleanup EXIT

# The build directory, bound into the container at a fixed path: the
# container gets a /tmp of its own, so a build under /tmp would vanish there.
cb=/opt/shmbroker-build

# The units as installed, with the daemon taken from the build directory, and
# what a test needs on top: a short watchdog, debug logging, no start limit.
sed -e "s|^ExecStart=[^ ]*shmbrokerd|ExecStart=$cb/shmbrokerd|" \
    -e 's|^ExecStart=\(.*\)$|ExecStart=\1 --log-level=debug|' \
    -e 's|^WatchdogSec=.*|WatchdogSec=2s\nTimeoutAbortSec=2s|' \
    -e 's|^\[Unit\]$|[Unit]\nStartLimitIntervalSec=0|' \
    "$build/systemd/shmbrokerd.service" >"$work/shmbrokerd.service"
cp "$srcdir/systemd/shmbrokerd.socket" "$work/shmbrokerd.socket"
cp "$srcdir/systemd/shmbrokerd-admin.socket" "$work/shmbrokerd-admin.socket"
if [ -n "${SHMB_SANITIZED:-}" ]; then
        # Sanitizer runtimes need system calls the filter forbids (LeakSanitizer ptraces at exit).
        sed -i -e '/^SystemCallFilter=/d' -e '/^MemoryDenyWriteExecute=/d' \
            -e 's|^\[Service\]$|[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0|' "$work/shmbrokerd.service"
fi

systemd-nspawn --quiet --register=no --keep-unit --private-network -D / --volatile=yes \
        --bind-ro="$build:$cb" \
        --bind-ro="$work/shmbrokerd.service:/etc/systemd/system/shmbrokerd.service" \
        --bind-ro="$work/shmbrokerd.socket:/etc/systemd/system/shmbrokerd.socket" \
        --bind-ro="$work/shmbrokerd-admin.socket:/etc/systemd/system/shmbrokerd-admin.socket" \
        --bind-ro="$srcdir/systemd/shmbrokerd.sysusers:/etc/sysusers.d/shmbrokerd.conf" \
        --bind-ro="$srcdir/systemd/shmbrokerd.tmpfiles:/etc/tmpfiles.d/shmbrokerd.conf" \
        --boot -- systemd.firstboot=off >"$work/nspawn.log" 2>&1 &
ns_pid=$!

# The container's PID 1: the child of systemd-nspawn that runs systemd.
find_pid1() {
        local d pid comm state ppid
        for d in /proc/[0-9]*; do
                { read -r pid comm state ppid _ <"$d/stat"; } 2>/dev/null || continue
                if [ "$ppid" = "$ns_pid" ] && [ "$comm" = "(systemd)" ]; then
                        echo "$pid"
                        return 0
                fi
        done
        return 1
}
for _ in $(seq 100); do
        pid1=$(find_pid1) && break
        sleep 0.1
done
[ -n "$pid1" ] || { cat "$work/nspawn.log"; echo "FAIL: the container did not boot"; exit 1; }

in_ct() { timeout 60 nsenter -t "$pid1" -a "$@"; }
for _ in $(seq 100); do in_ct test -S /run/systemd/private && break; sleep 0.1; done
timeout 30 nsenter -t "$pid1" -a systemctl is-system-running --wait >/dev/null

ctl() { in_ct env LD_LIBRARY_PATH="$cb/.libs" "$cb/.libs/shmbrokerctl" "$@"; }
ctl_as_nobody() {
        in_ct setpriv --reuid=65534 --regid=65534 --clear-groups \
                env LD_LIBRARY_PATH="$cb/.libs" "$cb/.libs/shmbrokerctl" "$@"
}
check() {
        local what=$1; shift
        if "$@"; then
                echo "ok - $what"
        else
                echo "not ok - $what"
                failures=$((failures + 1))
        fi
}
prop() { in_ct systemctl show -p "$1" --value shmbrokerd.service; }
# Wait (up to $1 s) until the command succeeds.
wait_for() {
        local t=$1; shift
        for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
        return 1
}
is_running() { [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ]; }
main_pid_changed() { local p; p=$(prop MainPID); [ "$p" != 0 ] && [ "$p" != "$1" ] && is_running; }
bytes_are() { [ "$(ctl cat --length "${#2}" "$1" 2>/dev/null)" = "$2" ]; }
owner_mode_are() { ctl stat "$1" 2>/dev/null | grep -Eq "owner:? +$2\b" && ctl stat "$1" | grep -Eq "mode:? +$3\b"; }
segments_back() {
        bytes_are frames "hello from nobody" && bytes_are px posix-bytes && bytes_are sv sysv-bytes &&
                owner_mode_are frames 65534 0640 && { ! ctl stat sv0 >/dev/null 2>&1 || owner_mode_are sv0 0 0200; }
}
sv0_back() { owner_mode_are sv0 0 0200; }

in_ct systemd-sysusers >/dev/null 2>&1
in_ct systemctl daemon-reload
in_ct systemctl start shmbrokerd.socket shmbrokerd-admin.socket

# Socket activation: nothing runs until the first client connects.
check "service inactive before the first connection" [ "$(prop ActiveState)" = inactive ]
check "socket /run/shmbrokerd/shmbrokerd.sock mode 0666" \
        [ "$(in_ct stat -c %a /run/shmbrokerd/shmbrokerd.sock)" = 666 ]
check "first connection starts the service" ctl_as_nobody create frames 64K --mode 0640
check "service ready (Type=notify: active only after READY=1)" is_running
check "STATUS= summary" wait_for 5 sh -c "timeout 60 nsenter -t $pid1 -a systemctl show -p StatusText --value shmbrokerd.service | grep -q 'segments, .* connections'"
check "runs as the shmbroker user" [ "$(in_ct stat -c %U "/proc/$(prop MainPID)")" = shmbroker ]
check "admin socket /run/shmbrokerd/admin.sock mode 0600" [ "$(in_ct stat -c %a /run/shmbrokerd/admin.sock)" = 600 ]
check "the daemon serves the passed admin socket" sh -c "timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl stats | grep -q segments"
check "the admin socket refuses nobody" sh -c "! timeout 60 nsenter -t $pid1 -a setpriv --reuid=65534 --regid=65534 --clear-groups env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl stats >/dev/null 2>&1"
check "write bytes" sh -c "printf 'hello from nobody' | timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs setpriv --reuid=65534 --regid=65534 --clear-groups $cb/.libs/shmbrokerctl write frames"
check "posix segment" sh -c "ctl() { timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl \"\$@\"; }; ctl create px 4K -b posix && printf posix-bytes | ctl write px"
check "sysv segment" sh -c "ctl() { timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl \"\$@\"; }; ctl create sv 4K -b sysv && printf sysv-bytes | ctl write sv"
# Mode 0200: not even its owner may read it, and the daemon must still check and remove it
# (IPC_STAT needs read permission, or the service's CAP_IPC_OWNER).
check "sysv segment of mode 0200" sh -c "timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl create sv0 4K -b sysv --mode 0200"
check "bytes readable" segments_back
check "journal has structured fields" wait_for 5 sh -c "timeout 60 nsenter -t $pid1 -a journalctl -q -u shmbrokerd.service SHMB_OPERATION=create SHMB_SEGMENT=frames SHMB_CLIENT_UID=65534 -o cat | grep -q created"

pid=$(prop MainPID)
in_ct systemctl restart shmbrokerd.service
check "systemctl restart: new main process" main_pid_changed "$pid"
check "systemctl restart: the daemon knew it was a restart" sh -c \
        "timeout 60 nsenter -t $pid1 -a journalctl -q -u shmbrokerd.service -o cat | grep -q 'SIGTERM for a restart'"
check "systemctl restart: segments back with bytes, owner and mode" segments_back
check "systemctl restart: the mode-0200 System V segment is back" sv0_back

pid=$(prop MainPID)
in_ct kill -9 "$pid"
check "kill -9: restarted" wait_for 15 main_pid_changed "$pid"
check "kill -9: segments back" segments_back

pid=$(prop MainPID)
in_ct systemctl kill --signal=SIGSTOP shmbrokerd.service
check "watchdog: frozen daemon killed and restarted" wait_for 30 main_pid_changed "$pid"
check "watchdog: the journal says why" sh -c "timeout 60 nsenter -t $pid1 -a journalctl -q -u shmbrokerd.service | grep -q 'Watchdog timeout'"
check "watchdog: segments back" segments_back

# A program holding a segment through libshmbroker across a restart: its mapping stays, the
# library reconnects and reclaims the hold at its next call, and the lifetime works afterwards.
[ -x "$build/.libs/hold-client" ] || skip "no $build/.libs/hold-client (run through make check)"
coproc HOLD { in_ct env LD_LIBRARY_PATH="$cb/.libs" "$cb/.libs/hold-client" held 2>&1; }
# bash unsets HOLD when the coprocess exits: keep its pipes under our own names.
hold_pid=$HOLD_PID
exec {hold_out}<&"${HOLD[0]}" {hold_in}>&"${HOLD[1]}"
line=
read -r -t 10 line <&"$hold_out"
check "library client holds a segment" [ "$line" = ready ]
in_ct systemctl restart shmbrokerd.service
echo go >&"$hold_in"
line=
read -r -t 40 line <&"$hold_out"
check "library client reclaimed its hold after systemctl restart ($line)" [ "$line" = "holders 1" ]
line=
read -r -t 10 line <&"$hold_out"
check "library client released it ($line)" [ "$line" = "released 0" ]
wait "$hold_pid" 2>/dev/null
exec {hold_out}<&- {hold_in}>&-
check "lifetime works after the restart: the segment ended with its last holder" sh -c \
        "! timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl stat held 2>/dev/null"

check "before the stop: POSIX object and System V segment exist" sh -c \
        "timeout 60 nsenter -t $pid1 -a ls /dev/shm | grep -q '^shmb\..*\.px$' && timeout 60 nsenter -t $pid1 -a ipcs -m | grep -q '^0x'"
in_ct systemctl stop shmbrokerd.service 2>/dev/null
check "systemctl stop: inactive" [ "$(prop ActiveState)" = inactive ]
check "systemctl stop: the daemon knew it was a stop" sh -c \
        "timeout 60 nsenter -t $pid1 -a journalctl -q -u shmbrokerd.service -o cat | grep -q 'SIGTERM for a stop'"
check "systemctl stop: no POSIX objects" sh -c "! timeout 60 nsenter -t $pid1 -a ls /dev/shm | grep -q '^shmb\.'"
check "systemctl stop: no System V segments" sh -c "! timeout 60 nsenter -t $pid1 -a ipcs -m | grep -q '^0x'"
check "systemctl stop: restart state removed" sh -c "! timeout 60 nsenter -t $pid1 -a test -e /run/shmbrokerd/state"
check "socket still activates after a stop, with nothing kept" sh -c \
        "! timeout 60 nsenter -t $pid1 -a env LD_LIBRARY_PATH=$cb/.libs $cb/.libs/shmbrokerctl stat frames 2>/dev/null"

if [ "$failures" -gt 0 ]; then
        echo "--- journal of shmbrokerd.service"
        in_ct journalctl -q -u shmbrokerd.service -u shmbrokerd.socket --no-pager | tail -60
        echo "FAIL: $failures checks failed"
        exit 1
fi
echo "PASS"
