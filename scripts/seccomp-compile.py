#!/usr/bin/env python3
"""Compile the seccomp filter of OCI configs the way runc 1.1.5 does, with the local libseccomp.

For each config.json: the time libseccomp takes to add the rules and to export the BPF (medians of
N rounds, the configs interleaved), and the exported BPF's sha256; with several configs, whether
their BPF programs are byte for byte the same (the same filter, whatever the rules' shape).

What runc does (libcontainer/seccomp, libseccomp-golang): seccomp_init with the default action, every
listed ABI added; per rule and per name: a name libseccomp does not know is skipped, a rule whose
action is the default action is skipped, the name is resolved on the native ABI, and added with
seccomp_rule_add_array (all argument conditions in one rule when their indexes differ, else one
rule per condition). A filter whose native (first listed) ABI is not this host's is compiled with
the host's ABI removed, so an aarch64 filter can be checked on x86_64 too.

Usage: python3 scripts/seccomp-compile.py [-n ROUNDS] CONFIG.json...
"""
import argparse
import ctypes
import hashlib
import json
import os
import tempfile
import time

lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_release.argtypes = [ctypes.c_void_p]
lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
lib.seccomp_arch_native.restype = ctypes.c_uint32
lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


OPS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000,
}


def action(name, errno):
    if name == "SCMP_ACT_ERRNO":
        return 0x00050000 | (1 if errno is None else errno)
    if name == "SCMP_ACT_TRACE":
        return 0x7FF00000 | (0 if errno is None else errno)
    return ACTIONS[name]


def prepare(seccomp):
    """The libseccomp calls runc would make, resolved once (runc's own Go work is not timed)."""
    archs = [lib.seccomp_arch_resolve_name(a[len("SCMP_ARCH_"):].lower().encode()) for a in seccomp.get("architectures", [])]
    default = action(seccomp["defaultAction"], seccomp.get("defaultErrnoRet"))
    adds = []
    for rule in seccomp.get("syscalls") or []:
        act = action(rule["action"], rule.get("errnoRet"))
        if act == default:
            continue
        args = rule.get("args") or []
        indexes = [a["index"] for a in args]
        groups = [args] if len(set(indexes)) == len(indexes) else [[a] for a in args]
        for name in rule["names"]:
            num = lib.seccomp_syscall_resolve_name(name.encode())
            if num == -1:  # __NR_SCMP_ERROR: unknown to this libseccomp
                continue
            for group in groups:
                conds = (ArgCmp * len(group))(*[ArgCmp(a["index"], OPS[a["op"]], int(a["value"]), int(a.get("valueTwo", 0))) for a in group]) if group else None
                adds.append((act, num, len(group), conds))
    return default, archs, adds


def compile_once(prepared, out_fd):
    default, archs, adds = prepared
    t0 = time.perf_counter()
    ctx = lib.seccomp_init(default)
    for arch in archs:
        lib.seccomp_arch_add(ctx, arch)
    if archs and lib.seccomp_arch_native() not in archs:
        lib.seccomp_arch_remove(ctx, lib.seccomp_arch_native())
    for act, num, count, conds in adds:
        rc = lib.seccomp_rule_add_array(ctx, act, num, count, conds)
        if rc != 0:
            raise SystemExit(f"seccomp_rule_add_array({num}) failed: {os.strerror(-rc)}")
    t1 = time.perf_counter()
    lib.seccomp_export_bpf(ctx, out_fd)
    t2 = time.perf_counter()
    lib.seccomp_release(ctx)
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--rounds", type=int, default=200)
    parser.add_argument("configs", nargs="+")
    opts = parser.parse_args()
    prepared = []
    for path in opts.configs:
        with open(path) as f:
            seccomp = json.load(f)["linux"]["seccomp"]
        prepared.append(prepare(seccomp))
    programs = []
    for p in prepared:
        with tempfile.TemporaryFile() as f:
            compile_once(p, f.fileno())
            f.seek(0)
            programs.append(f.read())
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = [[] for _ in prepared]
    for r in range(opts.rounds):
        order = range(len(prepared)) if r % 2 == 0 else reversed(range(len(prepared)))
        for i in order:
            times[i].append(compile_once(prepared[i], devnull))
    for path, p, prog, ts in zip(opts.configs, prepared, programs, times):
        add = sorted(t[0] for t in ts)[len(ts) // 2]
        export = sorted(t[1] for t in ts)[len(ts) // 2]
        print(f"{path}: {len(p[2])} rules added, add {add:.3f} ms, export {export:.3f} ms (medians of {len(ts)}); "
              f"BPF {len(prog)} bytes sha256 {hashlib.sha256(prog).hexdigest()[:16]}")
    if len(programs) > 1:
        print("BPF identical" if len(set(programs)) == 1 else "BPF DIFFERS")


if __name__ == "__main__":
    main()
