"""The bench's data: the generated records (with an optional cache), the JSON request bodies,
the first-10 % CSV, and the big CSV for the memory figure. Nothing here prints record values."""

import csv
import io
import json
import os
import sys

from .util import BenchError, progress, run

FIELDS = ["mrn", "first_name", "last_name", "birth_date", "visit_account_number", "visit_date",
          "reason"]
_MRN_MARK, _VISIT_MARK = "\x01", "\x02"   # stand-ins for the big CSV's per-copy suffixes


def _stamp_ok(stamp, csv_path):
    try:
        with open(stamp, encoding="utf-8") as f:
            info = json.load(f)
        return info.get("csv_bytes") == os.path.getsize(csv_path)
    except (OSError, ValueError):
        return False


def prepare(bench_dir, n, work, cache=None):
    """Returns the folder holding records.csv and records.json for n records, generating them
    with gen_data.py unless the cache folder already has them (checked with DIR/<n>.stamp)."""
    target = cache or os.path.join(work, "data")
    csv_path, stamp = os.path.join(target, "records.csv"), os.path.join(target, f"{n}.stamp")
    if cache and os.path.exists(csv_path) and os.path.exists(os.path.join(target, "records.json")) \
            and _stamp_ok(stamp, csv_path):
        progress(f"data: reusing {n} records from the cache {target}")
        return target
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(target):
        if name.endswith(".stamp"):
            os.remove(os.path.join(target, name))
    progress(f"data: generating {n} records into {target}")
    gen = os.path.join(bench_dir, "gen_data.py")
    run([sys.executable, gen, target, str(n)], "gen_data.py", log=os.path.join(work, "gen_data.log"))
    with open(stamp, "w", encoding="utf-8") as f:
        json.dump({"records": n, "csv_bytes": os.path.getsize(csv_path)}, f)
    return target


def count_csv(csv_path):
    """(data rows, distinct MRNs) of a CSV file."""
    rows, mrns = 0, set()
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        col = next(reader).index("mrn")
        for row in reader:
            rows += 1
            mrns.add(row[col])
    return rows, len(mrns)


def json_bodies(json_path, tasks):
    """Splits the JSON array into `tasks` nearly equal arrays, serialized: [(records, bytes)]."""
    with open(json_path, encoding="utf-8") as f:
        records = json.load(f)
    n = len(records)
    if n < tasks:
        raise BenchError(f"records.json has {n} records, fewer than {tasks} requests")
    bodies, start = [], 0
    for i in range(tasks):
        end = start + n // tasks + (1 if i < n % tasks else 0)
        body = json.dumps(records[start:end], ensure_ascii=False, separators=(",", ":"))
        bodies.append((end - start, body.encode("utf-8")))
        start = end
    return bodies


def head_csv(csv_path, out_path, rows):
    """Writes the header and the first `rows` data rows of csv_path (quoted fields kept intact)."""
    with open(csv_path, newline="", encoding="utf-8") as f, \
            open(out_path, "w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(f), csv.writer(out, lineterminator="\n")
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i >= rows:
                break
            writer.writerow(row)
    return out_path


def _template_chunks(csv_path, chunk_rows=20_000):
    """records.csv's data rows re-serialized with marks after the MRN and the visit number:
    [(utf-8 bytes, [row byte lengths])], plus the header line."""
    chunks, lengths, line = [], [], io.StringIO()
    writer, blob = csv.writer(line, lineterminator="\n"), bytearray()
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        im, iv = header.index("mrn"), header.index("visit_account_number")
        for row in reader:
            row[im] += _MRN_MARK
            row[iv] += _VISIT_MARK
            line.seek(0)
            line.truncate()
            writer.writerow(row)
            data = line.getvalue().encode("utf-8")
            lengths.append(len(data))
            blob += data
            if len(lengths) >= chunk_rows:
                chunks.append((bytes(blob), lengths))
                blob, lengths = bytearray(), []
    if lengths:
        chunks.append((bytes(blob), lengths))
    return ",".join(header) + "\n", chunks


def _suffixed(blob, k):
    suffix = f"-{k}".encode()
    return blob.replace(_MRN_MARK.encode(), suffix).replace(_VISIT_MARK.encode(), suffix)


def _fill(out, chunks, limit):
    """Writes copies 1, 2, … of the template until the next row would pass `limit` bytes."""
    size, rows, k = out.tell(), 0, 0
    while True:
        k += 1
        for blob, lengths in chunks:
            data = _suffixed(blob, k)
            if size + len(data) <= limit:
                out.write(data)
                size, rows = size + len(data), rows + len(lengths)
                continue
            pos = 0
            for n in lengths:   # the last, partial chunk: row by row (the lengths grow by the suffix)
                row = _suffixed(blob[pos:pos + n], k)
                if size + len(row) > limit:
                    return size, rows
                out.write(row)
                size, rows, pos = size + len(row), rows + 1, pos + n
            return size, rows


def big_csv(csv_path, out_path, megabytes, cache=None):
    """Builds a CSV of at most `megabytes` MiB from copies of records.csv's rows, copy k with
    '-k' appended to every MRN and visit number; returns (path, bytes, data rows)."""
    limit = int(megabytes * 1024 * 1024)
    stamp = os.path.join(cache, f"big-{megabytes}.stamp") if cache else None
    if cache:
        out_path = os.path.join(cache, f"big-{megabytes}.csv")
        if os.path.exists(out_path) and _stamp_ok(stamp, out_path):
            with open(stamp, encoding="utf-8") as f:
                rows = json.load(f)["rows"]
            progress(f"big CSV: reusing {out_path}")
            return out_path, os.path.getsize(out_path), rows
    header, chunks = _template_chunks(csv_path)
    with open(out_path, "wb") as out:
        out.write(header.encode("utf-8"))
        size, rows = _fill(out, chunks, limit)
    if cache:
        with open(stamp, "w", encoding="utf-8") as f:
            json.dump({"csv_bytes": size, "rows": rows}, f)
    return out_path, size, rows
