"""The subject matching guard: run tests/subject_matching/cases.yml against one staged demo estate.

A faster subject search must report exactly the records, and return exactly the candidates, that
the cases record for the estate's size; this runs every case with expectations for that size and
times each :func:`datamap.subject.find` call (the store is opened once).

Run: ``python -m benchmarks.matching --workspace W --store S --subjects N``: prints the result as
JSON and exits 1 on any difference. ``--store`` is staged first when it is missing or stale, so
point it outside a read-only workspace (the benchmark cache), e.g. ``/tmp/match100k/store.sqlite``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

CASES = Path(__file__).resolve().parent.parent / "tests" / "subject_matching" / "cases.yml"
PARTS = ("subject", "candidates")


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    """The cases, read with libyaml's loader when present (the file holds tens of thousands of keys)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


def key(match: Any) -> str:
    """A match as the cases write it: ``system.collection:record_key``."""
    return f"{match.system}.{match.collection}:{match.record_key}"


def differences(expected: dict[str, Any], got: dict[str, list[str]]) -> dict[str, list[str]]:
    """Record keys missing from what find returned and unexpected in it, each with the part it is (not) in.

    A long candidate list is written as its ``count`` and ``sha256`` (of the sorted keys joined by
    newlines): then only whether it is the same set, and how many there are, can be said.
    """
    missing: list[str] = []
    unexpected: list[str] = []
    for part in PARTS:
        want, have = expected[part], sorted(set(got[part]))
        if isinstance(want, dict):
            if want["sha256"] != hashlib.sha256("\n".join(have).encode()).hexdigest():
                (missing if len(have) <= want["count"] else unexpected).append(
                    f"{part}: {len(have)} returned, not the {want['count']} recorded (sha256 differs)")
            continue
        missing += [f"{k} ({part})" for k in sorted(set(want) - set(have))]
        unexpected += [f"{k} ({part})" for k in sorted(set(have) - set(want))]
    return {"missing": missing, "unexpected": unexpected}


def found(con: Any, data_map: Any, own: Any, request: dict[str, Any]) -> dict[str, list[str]]:
    """What find reports (``subject``) and returns only as candidates, as the cases write them."""
    from datamap import subject

    matches = subject.find(con, data_map, subject.Subject.from_mapping(request), own_domains=own, include_candidates=True)
    return {"subject": [key(m) for m in matches if m.is_subject], "candidates": [key(m) for m in matches if not m.is_subject]}


def run_cases(workspace: Path, store_path: Path, subjects: int, cases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run every case with expectations for ``subjects`` against the workspace staged into ``store_path``."""
    from datamap import subject
    from datamap.store import open_read_only, stage
    from datamap.workspace import load_workspace

    ws = load_workspace(workspace)
    staged = stage(ws, path=store_path)  # reused when the sources did not change
    staged.close()
    con = open_read_only(staged.path)
    data_map = subject.read_map(ws)
    own = ws.policy.recipients.own_domains
    wanted = [c for c in (load_cases() if cases is None else cases) if subjects in c["expected"]]
    seconds, diffs = [], []
    try:
        for case in wanted:
            start = time.perf_counter()
            got = found(con, data_map, own, case["request"])
            seconds.append(time.perf_counter() - start)
            diff = differences(case["expected"][subjects], got)
            if diff["missing"] or diff["unexpected"]:
                diffs.append({"id": case["id"], **diff})
    finally:
        con.close()
    return {"cases": len(wanted), "same": len(wanted) - len(diffs), "differences": diffs,
            "seconds": {"median": round(statistics.median(seconds), 4) if seconds else 0.0,
                        "max": round(max(seconds, default=0.0), 4), "total": round(sum(seconds), 3)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="the demo workspace (seed 42)")
    parser.add_argument("--store", type=Path, required=True, help="the audit store file to stage into and read")
    parser.add_argument("--subjects", type=int, required=True, help="the estate's size: which expectations apply")
    args = parser.parse_args(argv)
    result = run_cases(args.workspace, args.store, args.subjects)
    print(json.dumps(result, indent=2))
    return 1 if result["differences"] or not result["cases"] else 0


if __name__ == "__main__":
    sys.exit(main())
