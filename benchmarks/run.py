"""``make bench``: wall time and peak memory of every phase at 10k, 100k and 1M subjects.

Run: ``python -m benchmarks.run [--sizes 10000,100000] [--skip-1m] [--quick] [--no-naive]
[--no-engines] [--no-notebooks]`` (``make bench BENCH_ARGS="--sizes 10000"``).

Demo estates are generated once and cached under ``benchmarks/cache/<subjects>-<seed>/``. Each
phase (generate, floor, stage, scan, audit, register, subject lookup, the naive pandas + Great
Expectations path, the same audit on PostgreSQL and on local Spark at 100k, ``benchmarks/engines.py``)
runs in a fresh process; its peak resident memory is read from ``wait4``. Two references run on the same data in the same run, so the figures are
ratios that hold on a noisy machine: the floor (parse every input once) and the naive path.
The table goes to the terminal and to ``benchmarks/results/bench.md`` and ``bench.json``.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_PHASES = ("floor", "stage", "scan", "audit", "register", "subject", "naive", "rerun")
ENGINES_SIZE = 100_000  # the estate audited on PostgreSQL and on Spark beside SQLite
ENGINE_PHASES = ("postgres", "spark")
NOTEBOOK_SUBJECTS = 2000  # the default demo (Makefile SUBJECTS)
GIB = 1024**3

# The targets (tests time nothing; the benchmark reports them).
AUDIT_SECONDS, AUDIT_BYTES, FLOOR_RATIO, NAIVE_RATIO = 180.0, 1.5 * GIB, 3.0, 5.0
GROWTH, LOOKUP_SECONDS, HELP_SECONDS, NOTEBOOK_SECONDS = 2.0, 1.0, 1.0, 60.0


@dataclass
class Measurement:
    """One phase in one process: its own timing of the work, the process's wall time and peak RSS."""

    phase: str
    subjects: int
    seconds: float | None
    wall: float
    peak_bytes: int
    ok: bool
    info: dict[str, Any] = field(default_factory=dict)
    cpu: float | None = None
    cached: bool = False
    error: str | None = None


def run_process(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[int, float, int, float]:
    """Run a command in a fresh process; return its exit status, wall seconds, peak RSS in bytes and CPU seconds.

    ``os.wait4`` gives this child's own rusage with its waited-for children (CPU), so one phase
    never counts against the next. Memory is the peak of the whole process tree, summed: staging
    runs worker processes at once, and rusage would report only the largest single one of them.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
        tree = TreeMemory(proc.pid)
        tree.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        tree.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    cpu = usage.ru_utime + usage.ru_stime  # what the work costs, whatever else the machine is doing
    return proc.returncode, wall, max(usage.ru_maxrss * 1024, tree.peak), cpu  # Linux reports ru_maxrss in KiB


class TreeMemory(threading.Thread):
    """Sample the summed resident memory of a process and its descendants every 0.1 s; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._done = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            total = 0
            try:
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += process.memory_info().rss
            except psutil.Error:
                break
            self.peak = max(self.peak, total)
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def run_phase(phase: str, workspace: Path, work: Path, subjects: int, seed: int) -> Measurement:
    """Run one phase of ``benchmarks.phases`` in a fresh process and read what it reported."""
    result = work / f"{phase}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.phases", phase, "--workspace", str(workspace), "--work", str(work),
           "--result", str(result), "--subjects", str(subjects), "--seed", str(seed)]
    code, wall, peak, cpu = run_process(cmd, work / "logs" / f"{phase}.log")
    if code != 0 or not result.is_file():
        tail = (work / "logs" / f"{phase}.log").read_text(errors="replace").strip().splitlines()[-1:] or [""]
        return Measurement(phase, subjects, None, round(wall, 3), peak, False, error=f"exit {code}: {tail[0][:300]}",
                           cpu=round(cpu, 3))
    data = json.loads(result.read_text(encoding="utf-8"))
    return Measurement(phase, subjects, data["seconds"], round(wall, 3), peak, True, data["info"], cpu=round(cpu, 3))


def ensure_estate(cache: Path, subjects: int, seed: int, work: Path, say: Any) -> tuple[Path, Measurement | None]:
    """The cached demo estate for this size; generated (and measured) only when missing."""
    workspace = cache / f"{subjects}-{seed}"
    record = cache / f"{subjects}-{seed}.generate.json"
    if (workspace / "expected_subject.json").is_file():
        if record.is_file():
            m = Measurement(**json.loads(record.read_text(encoding="utf-8")))
            m.cached = True
            return workspace, m
        return workspace, None
    say(f"generating the {subjects:,}-subject estate into {workspace} (cached for later runs)")
    cache.mkdir(parents=True, exist_ok=True)
    m = run_phase("generate", workspace, work, subjects, seed)
    if not m.ok:
        raise SystemExit(f"could not generate the {subjects:,}-subject estate: {m.error}")
    record.write_text(json.dumps(asdict(m)), encoding="utf-8")
    return workspace, m


def time_help(work: Path, runs: int = 5) -> Measurement:
    """``datamap --help`` as a user runs it: the median of a few fresh processes."""
    exe = Path(sys.executable).with_name("datamap")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "datamap.cli"]
    walls, peaks, cpus = [], [], []
    for i in range(runs):
        code, wall, peak, cpu = run_process([*cmd, "--help"], work / "logs" / f"help-{i}.log")
        if code != 0:
            return Measurement("help", 0, None, wall, peak, False, error=f"exit {code}")
        walls.append(wall)
        peaks.append(peak)
        cpus.append(cpu)
    median = statistics.median(walls)
    return Measurement("help", 0, round(median, 3), round(median, 3), max(peaks), True,
                       {"runs": [round(w, 3) for w in walls]}, cpu=round(statistics.median(cpus), 3))


# --- the machine ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model and load: the context every figure needs."""
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cores": len(os.sched_getaffinity(0)), "memory_bytes": mem, "cpu": model,
            "python": platform.python_version(), "load_at_start": [round(x, 2) for x in os.getloadavg()]}


# --- the table ------------------------------------------------------------------------------------


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024**2:,.0f}"


def _secs(s: float | None) -> str:
    return "-" if s is None else (f"{s:,.1f}" if s >= 10 else f"{s:.2f}")


def _timeline(events: list[tuple[float, str]]) -> str:
    """When staging's serial tail starts: the last source merged, the identifier index, the statistics."""
    merged = [t for t, line in events if ": " in line]  # "<dataset>.<collection>: <rows> rows"
    steps = [f"{line} from {t:.0f} s" for t, line in events if line in ("indexing the identifiers",  # stores before version 4
                                                                         "row statistics for the query planner")]
    return ", ".join(([f"last source merged at {max(merged):.0f} s"] if merged else []) + steps)


def full_audit(by: dict[tuple[str, int], Measurement], n: int) -> tuple[float | None, int | None]:
    """A full audit from cold: staging every source plus running every check."""
    stage, run = by.get(("stage", n)), by.get(("audit", n))
    if not (stage and run and stage.ok and run.ok):
        return None, None
    return stage.seconds + run.seconds, max(stage.peak_bytes, run.peak_bytes)  # type: ignore[operator]


def full_audit_cpu(by: dict[tuple[str, int], Measurement], n: int) -> float | None:
    """The full audit's CPU seconds (what it costs whatever else the machine is doing)."""
    stage, run = by.get(("stage", n)), by.get(("audit", n))
    if not (stage and run and stage.ok and run.ok and stage.cpu and run.cpu):
        return None
    return stage.cpu + run.cpu


def targets(by: dict[tuple[str, int], Measurement], sizes: list[int], extra: dict[str, Measurement]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured value and whether it was met (None: not measured)."""
    out = []
    big = max(sizes)

    def add(name: str, value: str, met: bool | None) -> None:
        out.append({"target": name, "measured": value, "met": met})

    secs, peak = full_audit(by, big)
    floor = by.get(("floor", big))
    naive = by.get(("naive", big))
    label = f"{big:,}"
    cpu = full_audit_cpu(by, big)
    add(f"full audit (stage + checks) at {label} under {AUDIT_SECONDS:.0f} s",
        f"{_secs(secs)} s wall, {_secs(cpu)} s cpu", None if secs is None else secs < AUDIT_SECONDS)
    add(f"full audit peak memory at {label} under 1.5 GiB", _mib(peak) + " MiB", None if peak is None else peak < AUDIT_BYTES)
    if secs is not None and floor and floor.ok:
        ratio = secs / floor.seconds  # type: ignore[operator]
        by_cpu = f", {cpu / floor.cpu:.1f}x in cpu" if cpu and floor.cpu else ""
        add(f"full audit within {FLOOR_RATIO:.0f}x the floor at {label}", f"{ratio:.1f}x wall{by_cpu}", ratio <= FLOOR_RATIO)
    if secs is not None and naive and naive.ok:
        speed, lean = naive.seconds / secs, naive.peak_bytes / peak  # type: ignore[operator]
        by_cpu = f" ({naive.cpu / cpu:.1f}x in cpu)" if cpu and naive.cpu else ""
        add(f"{NAIVE_RATIO:.0f}x faster or {NAIVE_RATIO:.0f}x leaner than the naive path at {label}",
            f"{speed:.1f}x faster{by_cpu}, {lean:.1f}x leaner", speed >= NAIVE_RATIO or lean >= NAIVE_RATIO)
    if 1_000_000 in sizes and 100_000 in sizes:
        _, p1 = full_audit(by, 1_000_000)
        _, p100 = full_audit(by, 100_000)
        if p1 and p100:
            add("memory sub-linear: 1M peak at most 2x the 100k peak", f"{p1 / p100:.2f}x", p1 / p100 <= GROWTH)
    again = by.get(("rerun", big))
    if again and again.ok:
        only_crm = bool(again.info["restaged"]) and all(t.startswith("zoho_crm__") for t in again.info["restaged"])
        add(f"rerun at {label} with the CRM exports changed restages only the CRM",
            f"{len(again.info['restaged'])} of {again.info['tables']} collections restaged; stage + audit "
            f"{_secs(again.seconds)} s" + (f" against {_secs(secs)} s cold" if secs else ""), only_crm)
    staged, made = by.get(("stage", big)), by.get(("generate", big))
    if staged and staged.ok and made and made.info.get("bytes"):
        ratio = staged.info["store_bytes"] / made.info["bytes"]
        add(f"store on disk at {label} under 2x the exports", f"{ratio:.2f}x ({staged.info['store_bytes'] / GIB:.2f} GiB)",
            ratio < 2.0)
    look = by.get(("subject", big))
    if look and look.ok:
        add(f"subject lookup (e-mail, name, city) at {label} under 1 s (store reused)",
            f"{look.info['lookup_seconds']:.2f} s lookup, {look.info['open_seconds']:.1f} s hash check, "
            f"reused={look.info['store_reused']}",
            look.info["lookup_seconds"] < LOOKUP_SECONDS and bool(look.info["store_reused"]))
    if "help" in extra and extra["help"].ok:
        add("datamap --help under 1 s (median of 5)", f"{_secs(extra['help'].seconds)} s wall, {_secs(extra['help'].cpu)} s cpu",
            extra["help"].seconds < HELP_SECONDS)  # type: ignore[operator]
    if "notebooks" in extra and extra["notebooks"].ok:
        add(f"all notebooks on the default demo under {NOTEBOOK_SECONDS:.0f} s",
            _secs(extra["notebooks"].wall) + " s", extra["notebooks"].wall < NOTEBOOK_SECONDS)
    return out


def markdown(meta: dict[str, Any], measurements: list[Measurement], sizes: list[int], extra: dict[str, Measurement],
             goals: list[dict[str, Any]]) -> str:
    """The results as a Markdown page: one row per phase, time and peak memory per size."""
    by = {(m.phase, m.subjects): m for m in measurements}
    mach = meta["machine"]
    lines = [f"# datamap benchmark, {meta['finished']}", "",
             f"Machine: {mach['cores']} cores ({mach['cpu']}), {mach['memory_bytes'] / GIB:.1f} GiB memory, "
             f"Python {mach['python']}; load average {mach['load_at_start']} at start, {meta['load_at_end']} at end.",
             "s: wall seconds of the phase's own work (fresh process; interpreter start excluded). "
             "cpu: the process's CPU seconds (user + system; on a loaded machine wall > cpu). "
             "MiB: the peak resident memory of the phase's process and its workers, summed.", ""]
    header = "| phase | " + " | ".join(f"{n:,} s | cpu | MiB" for n in sizes) + " |"
    lines += [header, "|---|" + "---:|---:|---:|" * len(sizes)]
    phases = ["generate", *DEFAULT_PHASES, *ENGINE_PHASES]
    for phase in phases:
        cells = []
        for n in sizes:
            m = by.get((phase, n))
            if m is None:
                cells += ["", "", ""]
            elif not m.ok:
                cells += ["failed", "", ""]
            else:
                cells += [_secs(m.seconds) + (" (cached)" if m.cached else ""), _secs(m.cpu), _mib(m.peak_bytes)]
        if any(cells):
            lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    cells = []
    for n in sizes:
        secs, peak = full_audit(by, n)
        stage, run = by.get(("stage", n)), by.get(("audit", n))
        cpu = stage.cpu + run.cpu if secs is not None and stage.cpu and run.cpu else None  # type: ignore[union-attr]
        cells += [_secs(secs), _secs(cpu), _mib(peak)]
    lines.append("| **full audit (stage + audit)** | " + " | ".join(cells) + " |")
    ratios = []
    for n in sizes:
        secs, _ = full_audit(by, n)
        f, nv = by.get(("floor", n)), by.get(("naive", n))
        r = []
        cpu = full_audit_cpu(by, n)
        if secs and f and f.ok:
            r.append(f"full audit / floor {secs / f.seconds:.1f}x wall"  # type: ignore[operator]
                     + (f", {cpu / f.cpu:.1f}x cpu" if cpu and f.cpu else ""))
        if secs and nv and nv.ok:
            r.append(f"naive / full audit {nv.seconds / secs:.1f}x time, "  # type: ignore[operator]
                     f"{nv.peak_bytes / max(by[('stage', n)].peak_bytes, by[('audit', n)].peak_bytes):.1f}x memory")
        if r:
            ratios.append(f"- {n:,}: " + "; ".join(r))
    if ratios:
        lines += ["", "Ratios (hold on a noisy machine):", *ratios]
    if extra:
        lines += ["", "| other | s | cpu | MiB |", "|---|---:|---:|---:|"]
        for name, m in extra.items():
            value = m.wall if name == "notebooks" else m.seconds
            lines.append(f"| {name} | {_secs(value) if m.ok else 'failed'} | {_secs(m.cpu)} | {_mib(m.peak_bytes)} |")
    lines += ["", "| target | measured | met |", "|---|---|---|"]
    for g in goals:
        lines.append(f"| {g['target']} | {g['measured']} | {'yes' if g['met'] else ('no' if g['met'] is False else '-')} |")
    details = []
    for m in measurements:
        if m.phase == "audit" and m.ok:
            details.append(f"- audit {m.subjects:,}: checks {m.info['checks']}, {m.info['findings']} findings, "
                           f"planted found {m.info['planted_found']}/{m.info['planted']}; slowest "
                           + ", ".join(f"{k} {v:.1f} s" for k, v in m.info["slowest_checks"].items()))
        if m.phase == "stage" and m.ok:
            details.append(f"- stage {m.subjects:,}: {m.info['rows']:,} rows in {m.info.get('workers', 1)} worker "
                           f"process(es), store {m.info['store_bytes'] / GIB:.2f} GiB; " + _timeline(m.info.get("timeline", [])))
        if m.phase == "subject" and m.ok:
            match = m.info.get("matching")
            details.append(f"- subject {m.subjects:,} (e-mail, name and city): {m.info['matches']} records matched, "
                           f"{m.info['expected_found']}/{m.info['expected']} expected records found"
                           + (f"; matching set: {match['same']}/{match['cases']} people with exactly the recorded records "
                              f"and candidates, per lookup median {match['seconds']['median']:.2f} s, max "
                              f"{match['seconds']['max']:.2f} s" if match else ""))
        if m.phase == "rerun" and m.ok:
            full = full_audit(by, m.subjects)[0]
            details.append(f"- rerun {m.subjects:,} with the CRM exported again ({len(m.info['changed_files'])} files), the rest "
                           f"unchanged: restaged {len(m.info['restaged'])} of {m.info['tables']} collections "
                           f"({', '.join(m.info['restaged'])}) in {m.info['stage_seconds']:.1f} s; stage + audit "
                           f"{_secs(m.seconds)} s" + (f" against {_secs(full)} s cold" if full else ""))
        if m.phase in ENGINE_PHASES and m.ok:
            details.append(f"- {m.phase} {m.subjects:,}: {m.info.get('summary', '')}")
        if m.phase == "naive" and m.ok:
            details.append(f"- naive {m.subjects:,}: {m.info.get('summary', '')}")
        if not m.ok:
            details.append(f"- {m.phase} {m.subjects:,} FAILED: {m.error}")
    if details:
        lines += ["", "Details:", *details]
    return "\n".join(lines) + "\n"


# --- the run --------------------------------------------------------------------------------------


def _save_partial(results: Path, meta: dict[str, Any], measurements: list[Measurement]) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "partial.json").write_text(json.dumps({**meta, "measurements": [asdict(m) for m in measurements]},
                                                     indent=2, default=str), encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES),
                        help="comma-separated subject counts (default 10000,100000,1000000)")
    parser.add_argument("--skip-1m", action="store_true", help="leave out the 1,000,000-subject size")
    parser.add_argument("--quick", action="store_true", help="10,000 subjects only, no PostgreSQL, no notebooks")
    parser.add_argument("--phases", default=",".join(DEFAULT_PHASES), help="phases per size (default: all)")
    parser.add_argument("--no-naive", action="store_true", help="skip the pandas + Great Expectations reference")
    parser.add_argument("--no-engines", action="store_true", help="skip the audit on PostgreSQL and on Spark")
    parser.add_argument("--no-notebooks", action="store_true", help="skip executing the notebooks")
    parser.add_argument("--no-help", action="store_true", help="skip timing datamap --help")
    parser.add_argument("--engines-size", type=int, default=ENGINES_SIZE, help="estate for the PostgreSQL and Spark runs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache", type=Path, default=HERE / "cache")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    try:
        args.size_list = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        parser.error(f"--sizes takes numbers like 10000,100000: {args.sizes!r}")
    if args.quick:
        args.size_list, args.no_engines, args.no_notebooks = [10_000], True, True
    if args.skip_1m:
        args.size_list = [n for n in args.size_list if n != 1_000_000]
    if not args.size_list:
        parser.error("no sizes left to run")
    args.phase_list = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = sorted(set(args.phase_list) - set(DEFAULT_PHASES))
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(unknown)}; choose from {', '.join(DEFAULT_PHASES)}")
    if args.no_naive:
        args.phase_list = [p for p in args.phase_list if p != "naive"]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    say = lambda text: print(text, flush=True)  # noqa: E731
    started = dt.datetime.now(dt.timezone.utc)
    meta: dict[str, Any] = {"started": started.strftime("%Y-%m-%d %H:%M:%SZ"), "machine": machine(),
                            "sizes": args.size_list, "seed": args.seed}
    results = args.results
    measurements: list[Measurement] = []
    extra: dict[str, Measurement] = {}
    say(f"benchmark on {meta['machine']['cores']} cores, {meta['machine']['memory_bytes'] / GIB:.1f} GiB; "
        f"sizes {', '.join(f'{n:,}' for n in args.size_list)}")
    if not args.no_help:
        extra["help"] = time_help(results / "work")
        say(f"  datamap --help: {_secs(extra['help'].seconds)} s")
    for n in args.size_list:
        work = results / "work" / str(n)
        workspace, generated = ensure_estate(args.cache, n, args.seed, work, say)
        if generated:
            measurements.append(generated)
        for phase in args.phase_list:
            m = run_phase(phase, workspace, work, n, args.seed)
            measurements.append(m)
            say(f"  {n:>9,} {phase:<9} {_secs(m.seconds):>8} s {_secs(m.cpu):>8} cpu {_mib(m.peak_bytes):>7} MiB"
                + ("" if m.ok else f"  FAILED {m.error}"))
            _save_partial(results, meta, measurements)  # an interrupted run keeps what it measured
        if n == args.engines_size and not args.no_engines and "audit" in args.phase_list:
            for phase in ENGINE_PHASES:  # the same audit beside SQLite's, compared check by check
                m = run_phase(phase, workspace, work, n, args.seed)
                measurements.append(m)
                say(f"  {n:>9,} {phase:<9} {_secs(m.seconds):>8} s {_secs(m.cpu):>8} cpu {_mib(m.peak_bytes):>7} MiB"
                    + ("" if m.ok else f"  FAILED {m.error}"))
                _save_partial(results, meta, measurements)
    if not args.no_notebooks:
        work = results / "work" / "notebooks"
        workspace, _ = ensure_estate(args.cache, NOTEBOOK_SUBJECTS, args.seed, work, say)
        extra["notebooks"] = run_phase("notebooks", workspace, work, NOTEBOOK_SUBJECTS, args.seed)
        say(f"  notebooks on the default demo: {_secs(extra['notebooks'].wall)} s"
            + ("" if extra["notebooks"].ok else f"  FAILED {extra['notebooks'].error}"))
    meta["finished"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    meta["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    by = {(m.phase, m.subjects): m for m in measurements}
    goals = targets(by, args.size_list, extra)
    page = markdown(meta, measurements, args.size_list, extra, goals)
    results.mkdir(parents=True, exist_ok=True)
    (results / "bench.md").write_text(page, encoding="utf-8")
    (results / "bench.json").write_text(json.dumps({**meta, "measurements": [asdict(m) for m in measurements],
                                                     "other": {k: asdict(v) for k, v in extra.items()},
                                                     "targets": goals}, indent=2, default=str), encoding="utf-8")
    say("")
    say(page)
    say(f"written: {results / 'bench.md'}, {results / 'bench.json'}")
    return 0 if all(m.ok for m in measurements) and all(m.ok for m in extra.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
