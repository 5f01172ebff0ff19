"""Figure (d): the read API under wrk, with the records loaded."""

import os
import time

from . import wrk
from .util import BenchError, progress, tail

LAST_NAME_SUBSTRINGS = ["son", "berg", "wood", "mill"]   # each in many generated last names


WARM_UP_SECONDS = 2


def _wrk(server, script, args, seconds, what):
    """One wrk figure, after a short warm-up run of the same requests that is not counted (the
    first filtered request of a data version counts its matches; later ones use the cached
    total). On failure the server's log tail is shown too."""
    log = os.path.join(server.dir, "wrk.log")
    try:
        wrk.measure(server.port, script, args, min(WARM_UP_SECONDS, seconds), "warm-up: " + what,
                    log, check=False)
        return wrk.measure(server.port, script, args, seconds, what, log)
    except BenchError:
        tail(server.log)
        raise


def patient_ids(server):
    """wrk arguments for patient_by_id.lua and the patient count. Ids come from the database:
    when the last patient by id has id == total, the ids are exactly 1..total; otherwise every
    id is listed into a file the Lua script reads."""
    c = server.client()
    total = c.get_json("/patients?page_size=1")["total"]
    if total == 0:
        server.fail("GET /patients says 0 patients after loading")
    last = c.get_json(f"/patients?page_size=1&page={total}")["patients"][0]["id"]
    if last == total:
        c.close()
        return [total], total
    progress(f"intake[{server.name}]: patient ids are not 1..{total} (last id {last}); listing them")
    path = os.path.join(server.dir, "patient_ids.txt")
    with open(path, "w", encoding="ascii") as f:
        for page in range(1, (total + 99) // 100 + 1):
            for p in c.get_json(f"/patients?page_size=100&page={page}")["patients"]:
                f.write(f"{p['id']}\n")
    c.close()
    return ["file", path], total


def by_id(server, seconds):
    args, total = patient_ids(server)
    r = _wrk(server, "patient_by_id.lua", args, seconds, f"GET /patients/{{id}} ({total} patients)")
    r["patients"] = total
    return r


def cold_filter_ms(server, substrings):
    """The latency of the first request per substring (its total not cached yet), in ms."""
    c = server.client()
    out = {}
    for sub in substrings:
        start = time.monotonic()
        c.get_json(f"/patients?last_name={sub}")
        out[sub] = round((time.monotonic() - start) * 1000, 1)
    c.close()
    progress(f"reads: first GET /patients?last_name=… per substring (count not cached): {out} ms")
    return out


def all_reads(server, seconds):
    """The three read figures: by id, by last-name substring, one deep page."""
    out = {"by_id": by_id(server, seconds)}
    cold = cold_filter_ms(server, LAST_NAME_SUBSTRINGS)
    out["by_last_name"] = _wrk(server, "patients_by_last_name.lua", LAST_NAME_SUBSTRINGS, seconds,
                               "GET /patients?last_name=" + ",".join(LAST_NAME_SUBSTRINGS))
    out["by_last_name"]["substrings"] = LAST_NAME_SUBSTRINGS
    out["by_last_name"]["cold_ms"] = cold
    page = max(1, min(5000, out["by_id"]["patients"] // 10))
    progress(f"reads: deep page figure uses GET /patients?page={page}")
    out["page"] = _wrk(server, "patients_page.lua", [page], seconds, f"GET /patients?page={page}")
    out["page"]["page"] = page
    return out
