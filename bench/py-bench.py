#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scenario 7 of shmbroker-bench: what Python users pick instead.

The same create/open loop as scenarios 1 and 2, run from Python three ways
in one interleaved loop (the order rotates every iteration):

  broker          libshmbroker through ctypes (the shmbrokerd under test)
  shared_memory   multiprocessing.shared_memory.SharedMemory (shm_open)
  manager         multiprocessing.managers.SharedMemoryManager: the segment
                  is created by SharedMemoryManager.SharedMemory() and
                  released through the manager's release_segment (the call
                  its server offers for that; the public API has no other
                  way to drop one segment early)

create = create + map + touch every page + unmap + release
open   = open an existing segment + map + unmap + release (the manager does
         not open segments: users open them with SharedMemory(name=...))

Standard library only. Started by shmbroker-bench, which parses the lines
printed here:
  ROW <tab> case <tab> metric <tab> unit <tab> median <tab> min <tab> max <tab> runs
  INFO <tab> key <tab> value
  ERROR <tab> text
"""

import argparse
import ctypes
import platform
import statistics
import sys
import time
from multiprocessing import managers, shared_memory
from multiprocessing.managers import SharedMemoryManager

PAGE = 4096


def percentile(values, p):
    """Linear interpolation between closest ranks, as bench/stats.c."""
    v = sorted(values)
    if not v:
        return float("nan")
    pos = p * (len(v) - 1)
    i = int(pos)
    if i + 1 >= len(v):
        return float(v[-1])
    return v[i] + (pos - i) * (v[i + 1] - v[i])


class Broker:
    """The few libshmbroker calls the loop needs, through ctypes."""

    def __init__(self, lib_path, socket_path):
        lib = ctypes.CDLL(lib_path)
        vp, pvp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
        lib.shmb_client_new.argtypes = [pvp, ctypes.c_char_p]
        lib.shmb_client_free.argtypes = [vp]
        lib.shmb_client_free.restype = vp
        lib.shmb_client_last_error.argtypes = [vp]
        lib.shmb_client_last_error.restype = ctypes.c_char_p
        lib.shmb_create.argtypes = [vp, ctypes.c_char_p, ctypes.c_uint64, vp, pvp]
        lib.shmb_open.argtypes = [vp, ctypes.c_char_p, ctypes.c_uint, pvp]
        lib.shmb_segment_map.argtypes = [vp, pvp]
        lib.shmb_segment_release.argtypes = [vp]
        self.lib = lib
        self.client = ctypes.c_void_p()
        self.check(lib.shmb_client_new(ctypes.byref(self.client), socket_path.encode()), "connect")

    def check(self, r, what):
        if r < 0:
            err = self.lib.shmb_client_last_error(self.client) if self.client else b""
            raise OSError(-r, f"shmbroker {what}: {err.decode(errors='replace')}")

    def acquire(self, name, size, create):
        seg, addr = ctypes.c_void_p(), ctypes.c_void_p()
        if create:
            r = self.lib.shmb_create(self.client, name, size, None, ctypes.byref(seg))
        else:
            r = self.lib.shmb_open(self.client, name, 0, ctypes.byref(seg))
        self.check(r, "create" if create else "open")
        self.check(self.lib.shmb_segment_map(seg, ctypes.byref(addr)), "map")
        return seg, addr.value

    def release(self, seg):
        self.check(self.lib.shmb_segment_release(seg), "release")

    def close(self):
        self.lib.shmb_client_free(self.client)


def touch(buf, size):
    for off in range(0, size, PAGE):
        buf[off] = 1


def broker_create(ctx, size):
    seg, addr = ctx["broker"].acquire(b"py", size, True)
    view = memoryview((ctypes.c_char * size).from_address(addr)).cast("B")
    touch(view, size)
    view.release()
    ctx["broker"].release(seg)


def shm_create(ctx, size):
    shm = shared_memory.SharedMemory(create=True, size=size)
    touch(shm.buf, size)
    shm.close()
    shm.unlink()


def manager_create(ctx, size):
    smm = ctx["smm"]
    shm = smm.SharedMemory(size)
    touch(shm.buf, size)
    shm.close()
    with smm._Client(smm._address, authkey=smm._authkey) as conn:
        managers.dispatch(conn, None, "release_segment", (shm.name,))


def broker_open(ctx, size):
    seg, _ = ctx["broker"].acquire(b"py-open", size, False)
    ctx["broker"].release(seg)


def shm_open(ctx, size):
    shm = shared_memory.SharedMemory(name=ctx["open_name"])
    shm.close()


LOOPS = {
    "create": [("broker", broker_create), ("shared_memory", shm_create), ("manager", manager_create)],
    "open": [("broker", broker_open), ("shared_memory", shm_open)],
}


def run_loop(ctx, variants, size, iters):
    """One run: every variant iters times, interleaved. Returns {name: [ns]}."""
    samples = {name: [] for name, _ in variants}
    warmup = iters // 10 + 1
    n = len(variants)
    for i in range(warmup + iters):
        for k in range(n):
            name, fn = variants[(i + k) % n]
            t0 = time.perf_counter_ns()
            fn(ctx, size)
            dt = time.perf_counter_ns() - t0
            if i >= warmup:
                samples[name].append(dt)
    return samples


def row(case, metric, unit, per_run):
    vals = [v for v in per_run if v == v]
    if not vals:
        return
    print(f"ROW\t{case}\t{metric}\t{unit}\t{statistics.median(vals):.6g}\t{min(vals):.6g}\t{max(vals):.6g}"
          f"\t{len(vals)}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="libshmbroker.so")
    ap.add_argument("--socket", required=True, help="shmbrokerd socket")
    ap.add_argument("--iters", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="4096,65536")
    args = ap.parse_args()

    print(f"INFO\tpython\t{platform.python_implementation()} {platform.python_version()}", flush=True)
    ctx = {"broker": Broker(args.lib, args.socket)}
    held = []
    try:
        with SharedMemoryManager() as smm:
            ctx["smm"] = smm
            for size in [int(s) for s in args.sizes.split(",")]:
                label = f"{size // 1024} KiB"
                held.append(ctx["broker"].acquire(b"py-open", size, True)[0])
                pre = shared_memory.SharedMemory(create=True, size=size)
                ctx["open_name"] = pre.name
                for op, variants in LOOPS.items():
                    p50 = {name: [] for name, _ in variants}
                    p99 = {name: [] for name, _ in variants}
                    for _ in range(args.runs):
                        samples = run_loop(ctx, variants, size, args.iters)
                        for name, v in samples.items():
                            p50[name].append(percentile(v, 0.5) / 1e3)
                            p99[name].append(percentile(v, 0.99) / 1e3)
                    case = f"{op} {label}"
                    for name, _ in variants:
                        row(case, f"{name} p50", "us", p50[name])
                        row(case, f"{name} p99", "us", p99[name])
                    for name, _ in variants[1:]:
                        ratios = [b / o for b, o in zip(p50["broker"], p50[name])]
                        row(case, f"broker/{name} p50", "x", ratios)
                pre.close()
                pre.unlink()
                ctx["broker"].release(held.pop())
    except Exception as e:  # report, don't traceback: the benchmark prints the table
        print(f"ERROR\t{type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        ctx["broker"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
