"""One command for the performance table of issue 19: ``make bench``.

    .venv/bin/python bench/run.py [--rounds 5] [--only iso,ingest] [--no-doc]

Runs every benchmark module that offers ``rows(rounds) -> list[dict]`` (each interleaves its own
rounds with its peers'), prints one markdown table of ours against the peer with the best and the
median of each and their ratio, and writes it to the top of ``docs/performance.md`` between the
two markers below (the history sections after them are kept), with the date, the load average
before and after the run and the machine.

A row is a dict with ``work``, ``ours_s``, ``peer``, ``peer_s``, ``ratio`` (ours / peer: below 1
we are faster) and ``target`` (text; ``ratio <= X`` in it is checked), the best figures; the
medians, where given, in ``ours_median_s``, ``peer_median_s``, ``ratio_median``; optional ``met``
(bool, used when the target has no ``ratio <= X``) and ``note`` (printed under the table). A list
of per-round seconds is accepted for ``ours_s`` / ``peer_s`` too (best = min, median = median).
A module without ``rows()`` falls back to an adapter here, or is reported as not run.
"""

from __future__ import annotations

import argparse
import importlib
import operator
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULES = ("ingest", "qr_find", "viewer_mastering", "iso")
DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
BEGIN = "<!-- make bench: begin (written by bench/run.py; edits here are overwritten) -->"
END = "<!-- make bench: end -->"
Row = dict[str, Any]

# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _best_median(row: Row, key: str) -> tuple[float, float | None] | None:
    """(best, median or None) of ``row[key]``: a number (its median under the ``*_median*`` key),
    a tuple (best, median), or a list of per-round values."""
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]), float(value[1])
    if isinstance(value, (list, tuple)):
        return (min(value), statistics.median(value)) if value else None
    median = row.get({"ours_s": "ours_median_s", "peer_s": "peer_median_s", "ratio": "ratio_median"}[key])
    return float(value), None if median is None else float(median)


def _ratios(row: Row) -> tuple[float, float | None] | None:
    """The row's ratio (best, median), computed from its times where it does not give them."""
    given = _best_median(row, "ratio")
    ours, peer = _best_median(row, "ours_s"), _best_median(row, "peer_s")
    if ours is None or peer is None or not peer[0]:
        return given
    median = ours[1] / peer[1] if ours[1] is not None and peer[1] else None
    if given is None:
        return ours[0] / peer[0], median
    return given[0], given[1] if given[1] is not None else median


_LIMIT = re.compile(r"ratio\s*(<=|<|>=|>)\s*([0-9.]+)")


def verdict(row: Row) -> str:
    """``yes`` (best and median within the target), ``best only``, ``median only``, ``no``, or
    ``-`` (no target to check)."""
    limit = _LIMIT.search(str(row.get("target", "")))
    ratios = _ratios(row)
    if limit is None or ratios is None:
        met = row.get("met")
        return "-" if met is None else ("yes" if met else "no")
    op, bound = limit.group(1), float(limit.group(2))
    compare: Callable[[float, float], bool] = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}[op]
    best, median = compare(ratios[0], bound), ratios[1] is not None and compare(ratios[1], bound)
    if ratios[1] is None:
        return "yes" if best else "no"
    return {(True, True): "yes", (True, False): "best only", (False, True): "median only"}.get((best, median), "no")


def _fmt(pair: tuple[float, float | None] | None, digits: int = 2) -> str:
    if pair is None:
        return "-"
    median = "-" if pair[1] is None else f"{pair[1]:.{digits}f}"
    return f"{pair[0]:.{digits}f} / {median}"


def table(rows: list[Row]) -> str:
    """The markdown table of ``rows``, each row's note as a numbered line under it."""
    lines = ["| work | ours best / median s | peer | peer best / median s | ratio best / median | target | met? |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    notes: list[str] = []
    for row in rows:
        work = str(row.get("work", "?"))
        if row.get("note"):
            notes.append(f"{len(notes) + 1}. {work}: {row['note']}")
            work += f" ({len(notes)})"
        lines.append(f"| {work} | {_fmt(_best_median(row, 'ours_s'))} | {row.get('peer') or '-'} | "
                     f"{_fmt(_best_median(row, 'peer_s'))} | {_fmt(_ratios(row))} | {row.get('target', '-')} | "
                     f"{verdict(row)} |")
    return "\n".join(lines + ([""] + notes if notes else []))


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    """CPUs (``nproc``), CPU model and kernel."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}"


def machine_line() -> str:
    """Date, load average and the machine, for one line of output."""
    return f"{time.strftime('%Y-%m-%d %H:%M %Z')}, load average {load_average()}, {machine()}"


# --------------------------------------------------------------------------------------------
# Adapters for bench modules that have no rows() yet (each is replaced by the module's own)
# --------------------------------------------------------------------------------------------


def _row(work: str, ours: list[float], peer: str, theirs: list[float], limit: float | None, meaning: str) -> Row:
    ratio = min(ours) / min(theirs)
    return {"work": work, "ours_s": min(ours), "ours_median_s": statistics.median(ours), "peer": peer,
            "peer_s": min(theirs), "peer_median_s": statistics.median(theirs), "ratio": ratio,
            "ratio_median": statistics.median(ours) / statistics.median(theirs),
            "target": meaning if limit is None else f"ratio <= {limit:.2f} ({meaning})"}


def _ingest_rows(rounds: int) -> list[Row]:
    """bench/ingest.py as it was: 500 CT over one association to storescp, Orthanc and us."""
    ingest = importlib.import_module("bench.ingest")
    peers = importlib.import_module("bench._peers")
    receivers = {"DCMTK storescp": peers.storescp, "Orthanc": peers.orthanc, "ours": peers.publisher}
    times: dict[str, list[float]] = {name: [] for name in receivers}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        files = ingest.make_files(work / "in", 500, 512)
        for r in range(rounds):
            for i, (name, server) in enumerate(receivers.items()):
                times[name].append(ingest.measure(f"r{i}", server, files, r, work))
    label = "ingest 500 CT, 1 association, durable"
    rows = [_row(label, times["ours"], "Orthanc", times["Orthanc"], 1 / 1.5, "at least 1.5x Orthanc's speed"),
            _row(label, times["ours"], "DCMTK storescp", times["DCMTK storescp"], 2.5, "within 2.5x storescp")]
    rows[0]["note"] = "adapter of the old bench/ingest.py: the 8 x 100 CT row is not measured by it"
    return rows


def _qr_find_rows(rounds: int) -> list[Row]:
    """bench/qr_find.py as it was: no Orthanc, an IMAGE query for one series of 100 instances."""
    qr = importlib.import_module("bench.qr_find")
    with tempfile.TemporaryDirectory(prefix="bench-find-") as tmp:
        result = qr.run(Path(tmp), 10_000, 100)
    return [{"work": "C-FIND IMAGE, one series of 100 on 10,000 instances (DCMTK findscu)",
             "ours_s": result["C-FIND, DCMTK findscu (process incl.)"], "peer": "", "peer_s": None, "ratio": None,
             "target": "-", "note": "adapter of the old bench/qr_find.py: the issue's C-FIND STUDY row against "
                                    "Orthanc is not measured by it"}]


ADAPTERS: dict[str, Callable[[int], list[Row]]] = {"ingest": _ingest_rows, "qr_find": _qr_find_rows}

# --------------------------------------------------------------------------------------------
# Running and writing
# --------------------------------------------------------------------------------------------


def collect(names: list[str], rounds: int) -> tuple[list[Row], list[str]]:
    """Rows of every module in ``names`` and a line for each one not run or failed."""
    rows: list[Row] = []
    problems: list[str] = []
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
            fn = getattr(module, "rows", None) or ADAPTERS.get(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            fn = None
        if fn is None:
            problems.append(f"bench/{name}.py: not run (no such module, or it has no rows() yet)")
            continue
        print(f"== bench/{name}.py, {rounds} rounds ({machine_line()})", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            got = fn(rounds)
        except Exception as exc:  # one broken bench does not lose the others' figures
            traceback.print_exc()
            problems.append(f"bench/{name}.py: failed: {type(exc).__name__}: {exc}")
            continue
        rows += got
        print(table(got), f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    return rows, problems


def section(rows: list[Row], problems: list[str], started: str, load_before: str, rounds: int) -> str:
    """The generated top of docs/performance.md: how it was run, on what, the table."""
    out = [BEGIN, "", "## Summary: `make bench`", "",
           f"`make bench` (= `.venv/bin/python bench/run.py --rounds {rounds}`): every benchmark interleaves ours "
           "and the peer round by round on this machine; best and median of the rounds, ratio = ours / peer "
           "(below 1: we are faster).", "",
           f"Run {started} to {time.strftime('%H:%M %Z')} on {machine()}; load average (1 / 5 / 15 min) "
           f"{load_before} before, {load_average()} after.", "", table(rows)]
    if problems:
        out += [""] + [f"- {p}" for p in problems]
    return "\n".join(out + ["", END])


def write_doc(doc: Path, text: str) -> None:
    """Put ``text`` (with its markers) in place of the marked section, or under the title."""
    old = doc.read_text() if doc.exists() else "# Performance\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + text + rest.split(END, 1)[1]
    else:
        title, _, body = old.partition("\n")
        new = f"{title}\n\n{text}\n\n{body.lstrip(chr(10))}"
    doc.write_text(new)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds per benchmark (default 5)")
    ap.add_argument("--only", default="", help=f"comma-separated modules of {', '.join(MODULES)}")
    ap.add_argument("--no-doc", action="store_true", help=f"print only, do not write {DOC.name}")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(MODULES)
    started, load_before = time.strftime("%Y-%m-%d %H:%M"), load_average()
    rows, problems = collect(names, args.rounds)
    text = section(rows, problems, started, load_before, args.rounds)
    print(text)
    if not args.no_doc:
        write_doc(DOC, text)
        print(f"written to {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
