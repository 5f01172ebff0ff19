"""Read figures with wrk: run it (bounded by a timeout), parse Requests/sec, the 99 % latency,
non-2xx responses and socket errors. Any non-2xx response or socket error is a failure."""

import os
import re
import shutil

from .util import BenchError, progress, run

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # scripts/bench
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise BenchError(f"wrk: cannot read the latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse(out):
    """{'rps', 'p99_ms', 'requests', 'non2xx', 'socket_errors'} from wrk --latency output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rps and p99 and total):
        raise BenchError("wrk: unexpected output (no Requests/sec or 99% line)")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(rps.group(1)), "p99_ms": _to_ms(p99.group(1)),
            "requests": int(total.group(1)), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, sock.groups())) if sock else 0}


def measure(port, script, args, seconds, what, log, threads=2, connections=16, check=True):
    """Runs one wrk figure against 127.0.0.1:port; BenchError on any failed request (unless
    `check` is false: a warm-up run, whose figures are not used)."""
    wrk = shutil.which("wrk")
    if not wrk:
        raise BenchError("wrk not found (apt-get install wrk)")
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
           "-s", os.path.join(HERE, script), f"http://127.0.0.1:{port}", "--", *map(str, args)]
    progress(f"wrk: {what} for {seconds} s")
    _, out = run(cmd, f"wrk {what}", timeout=seconds + 60, log=log)
    r = parse(out)
    if check and (r["non2xx"] or r["socket_errors"]):
        raise BenchError(f"wrk {what}: {r['non2xx']} non-2xx responses and {r['socket_errors']} "
                         f"socket errors in {r['requests']} requests (output in {log})")
    if r["requests"] == 0:
        raise BenchError(f"wrk {what}: no request completed")
    progress(f"wrk: {what}: {r['rps']:.0f} req/s, p99 {r['p99_ms']:.2f} ms")
    return r
