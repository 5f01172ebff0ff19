"""Small helpers shared by the benchmark modules: progress lines, failures, subprocesses, units."""

import os
import socket
import subprocess
import sys
import time

_T0 = time.monotonic()


class BenchError(Exception):
    """A figure could not be measured; the message is the one-line reason bench.py prints."""


def progress(msg):
    """One progress line on stderr, prefixed with the seconds since the bench started."""
    try:
        print(f"[{time.monotonic() - _T0:8.1f}s] {msg}", file=sys.stderr, flush=True)
    except OSError:   # stderr closed (e.g. piped into head): keep measuring
        pass


def tail(path, lines=30):
    """Prints the last lines of a log file to stderr (server logs never hold PHI: LOG_PHI=false)."""
    try:
        with open(path, "rb") as f:
            text = f.read()[-200_000:].decode("utf-8", "replace").splitlines()[-lines:]
    except OSError as e:
        text = [f"(cannot read {path}: {e})"]
    print(f"--- last {len(text)} lines of {path} ---", file=sys.stderr)
    for line in text:
        print("  " + line, file=sys.stderr)
    print("---", file=sys.stderr, flush=True)


def run(cmd, what, timeout=None, log=None, stdin=None, env=None):
    """Runs a command, returns (elapsed seconds, stdout text); BenchError on failure or timeout.
    stdout and stderr are appended to `log` (when given) and shown as a tail on failure."""
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what}: timed out after {timeout} s") from None
    except OSError as e:
        raise BenchError(f"{what}: cannot run {cmd[0]}: {e}") from None
    elapsed = time.monotonic() - t
    out = p.stdout.decode("utf-8", "replace")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"$ {' '.join(map(str, cmd))}\n{out}\n(exit {p.returncode}, {elapsed:.3f} s)\n")
    if p.returncode != 0:
        if log:
            tail(log)
        raise BenchError(f"{what}: exit status {p.returncode}")
    return elapsed, out


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def rate(value, unit="rec/s"):
    """41234.5 -> '41.2k rec/s'."""
    if value is None:
        return "—"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M {unit}"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k {unit}"
    return f"{value:.0f} {unit}"


def mib(kib):
    return "—" if kib is None else f"{kib / 1024:.1f} MiB"


def times(x):
    return "—" if x is None else f"{x:.2f}×"


def ms(x):
    return "—" if x is None else f"{x:.2f} ms"


def read_proc_status(pid):
    """{'VmRSS': kiB, 'VmHWM': kiB} of a live process, or {} when it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(val.split()[0])
    except OSError:
        return {}
    return out


def ensure_dir(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)
    return path
