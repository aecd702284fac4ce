"""Fuzzing the loaders: whatever a manifest, policy.yml, a check catalogue or an export holds, the
workbench answers with BadInput (one line, exit 2) or reads it; never a traceback, never a hang.

Inputs are drawn three ways: arbitrary text or bytes; the real demo file with lines dropped,
doubled or garbled; and the real file's YAML with values at random keys replaced by values of the
wrong type. Each test is bounded (``max_examples``, a per-example deadline and an alarm for hangs).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fixtures_time import no_hang as bounded
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datamap.errors import BadInput

FUZZ = settings(max_examples=25, deadline=dt.timedelta(seconds=20), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
HANG_SECONDS = 20


@contextlib.contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail (instead of waiting forever) when one load takes longer than ``seconds``."""
    with bounded(seconds):
        yield


def only_bad_input(load: Callable[[], Any]) -> None:
    """Run a loader: a result or BadInput with a one-line message are fine, anything else fails."""
    with no_hang():
        try:
            load()
        except BadInput as exc:
            assert exc.line() and "\n" not in exc.line()


# --- inputs ----------------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=30), st.dates(), st.sampled_from(["P2Y", "P0D", "user", "${X}", "*", "..", "%Y"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a YAML document (dict keys and list indexes)."""
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated_yaml(draw: st.DrawFn, original: str) -> str:
    """The real file's YAML with values replaced by wrong types, keys renamed, or entries dropped."""
    data = yaml.safe_load(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "drop", "rename"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = parent.pop(path[-1])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def mangled_text(draw: st.DrawFn, original: str) -> str:
    """The real file with a few lines dropped, doubled, cut short or replaced by noise."""
    lines = original.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "cut", "noise"]))
        if action == "drop":
            del lines[i]
        elif action == "double":
            lines.insert(i, lines[i])
        elif action == "cut":
            lines[i] = lines[i][: draw(st.integers(0, max(0, len(lines[i]) - 1)))]
        else:
            lines[i] = draw(st.text(max_size=40)) + "\n"
    return "".join(lines)


def yaml_inputs(original: str) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=200), mangled_text(original), mutated_yaml(original))


# --- a workspace to load, per test -------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workbench files and manifests (the exports are copied per test where needed)."""
    root = tmp_path_factory.mktemp("fuzz-base")
    for name in ("sources.yml", "policy.yml"):
        shutil.copy(demo_workspace / name, root / name)
    shutil.copytree(demo_workspace / "manifests", root / "manifests")
    return root


@pytest.fixture(scope="module")
def workspace(base: Path, demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-ws") / "ws"
    shutil.copytree(demo_workspace, root, ignore=shutil.ignore_patterns(".datamap"))
    return root


# --- the loaders -------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_policy_loader_raises_only_bad_input(workspace: Path, base: Path, data: st.DataObject) -> None:
    from datamap.map import load_map
    from datamap.workspace import load_workspace

    original = (base / "policy.yml").read_text(encoding="utf-8")
    (workspace / "policy.yml").write_text(data.draw(yaml_inputs(original)), encoding="utf-8")
    try:
        only_bad_input(lambda: load_map(load_workspace(workspace)))  # the map checks policy keys against the taxonomy
    finally:
        (workspace / "policy.yml").write_text(original, encoding="utf-8")


@FUZZ
@given(data=st.data())
def test_sources_loader_raises_only_bad_input(workspace: Path, base: Path, data: st.DataObject) -> None:
    from datamap.sources import collections, resolve
    from datamap.workspace import load_workspace

    original = (base / "sources.yml").read_text(encoding="utf-8")
    (workspace / "sources.yml").write_text(data.draw(yaml_inputs(original)), encoding="utf-8")

    def load() -> None:
        ws = load_workspace(workspace)
        for dataset, collection in collections(ws):
            resolve(ws, dataset, collection).kind

    try:
        only_bad_input(load)
    finally:
        (workspace / "sources.yml").write_text(original, encoding="utf-8")


@FUZZ
@given(data=st.data())
def test_manifest_loader_raises_only_bad_input(workspace: Path, base: Path, data: st.DataObject) -> None:
    from datamap.map import load_map

    name = data.draw(st.sampled_from(sorted(p.name for p in (base / "manifests").glob("*.yml"))))
    original = (base / "manifests" / name).read_text(encoding="utf-8")
    (workspace / "manifests" / name).write_text(data.draw(yaml_inputs(original)), encoding="utf-8")
    try:
        only_bad_input(lambda: load_map(workspace))
    finally:
        (workspace / "manifests" / name).write_text(original, encoding="utf-8")


@FUZZ
@given(data=st.data())
def test_check_catalogue_loader_raises_only_bad_input(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    from datamap.audit.catalogue import DEFAULT_DIR, expand, load_catalogue

    name = data.draw(st.sampled_from(sorted(p.name for p in DEFAULT_DIR.glob("P[0-9][0-9].yml"))))
    folder = tmp_path_factory.mktemp("checks")
    (folder / name).write_text(data.draw(yaml_inputs((DEFAULT_DIR / name).read_text(encoding="utf-8"))),
                               encoding="utf-8")
    rules = [{"system": "zoho_crm", "collection": "leads", "date_column": "last_activity_time",
              "table": "zoho_crm__leads", "key": "record_id"}]
    only_bad_input(lambda: [expand(claim, {"policy.retention": rules, "accounts": []}) for claim in load_catalogue([folder])])


def _read_all(workspace: Path, dataset: str, collection: str) -> None:
    from datamap.sources import read_collection
    from datamap.workspace import load_workspace

    for _ in read_collection(load_workspace(workspace), dataset, collection, chunksize=7):
        pass


CSV_CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["", '"', '""', ";", ",", "\t", "\r\n", "2026-11-24",
                                                             "24-11-2026", "zcrm_4150868000000100004", "Ja", "true"]))


@st.composite
def csv_bytes(draw: st.DrawFn, original: bytes) -> bytes:
    """Raw bytes, the real export mangled, or rows of awkward cells under the real header."""
    kind = draw(st.sampled_from(["bytes", "mangled", "cells"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    text = original.decode("utf-8-sig")
    if kind == "mangled":
        encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
        return draw(mangled_text(text)).encode(encoding, "replace")
    header = text.splitlines()[0]
    rows = draw(st.lists(st.lists(CSV_CELLS, min_size=0, max_size=8), max_size=6))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    return (header + "\n" + "\n".join(sep.join(r) for r in rows)).encode("utf-8")


@FUZZ
@given(data=st.data())
def test_csv_export_reader_raises_only_bad_input(workspace: Path, demo_workspace: Path, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from([("hr", "roster", "hr/roster.csv"),
                                        ("governance", "privacy_requests", "governance/privacy_requests.csv"),
                                        ("zoho_crm", "deals", "exports/zoho_crm/Deals.csv")]))
    dataset, collection, file = target
    original = (demo_workspace / file).read_bytes()
    (workspace / file).write_bytes(data.draw(csv_bytes(original)))
    try:
        only_bad_input(lambda: _read_all(workspace, dataset, collection))
    finally:
        (workspace / file).write_bytes(original)


@FUZZ
@given(data=st.data())
def test_xlsx_export_reader_raises_only_bad_input(workspace: Path, demo_workspace: Path, data: st.DataObject) -> None:
    import openpyxl

    file = workspace / "exports/zoho_desk/Users.xlsx"
    original = (demo_workspace / "exports/zoho_desk/Users.xlsx").read_bytes()
    kind = data.draw(st.sampled_from(["bytes", "truncated", "cells"]))
    if kind == "bytes":
        file.write_bytes(data.draw(st.binary(max_size=300)))
    elif kind == "truncated":
        file.write_bytes(original[: data.draw(st.integers(0, len(original) - 1))])
    else:
        book = openpyxl.Workbook()
        sheet = book.active
        header = ["User Id", "Full Name", "Email", "Role", "Profile", "Status", "Added Time"]
        for row in [header] + data.draw(st.lists(st.lists(st.one_of(SCALARS.filter(lambda v: not isinstance(v, float)),
                                                                      st.datetimes()), max_size=9), max_size=5)):
            sheet.append([v if not isinstance(v, str) else v.translate({c: None for c in range(32)}) for v in row])
        buf = io.BytesIO()
        book.save(buf)
        file.write_bytes(buf.getvalue())
    try:
        only_bad_input(lambda: _read_all(workspace, "zoho_desk", "users"))
    finally:
        file.write_bytes(original)


@FUZZ
@given(data=st.data())
def test_mbox_reader_raises_only_bad_input(workspace: Path, demo_workspace: Path, data: st.DataObject) -> None:
    file = workspace / "exports/zoho_mail/privacy_inbox.mbox"
    original = (demo_workspace / "exports/zoho_mail/privacy_inbox.mbox").read_bytes()
    kind = data.draw(st.sampled_from(["bytes", "mangled", "header"]))
    if kind == "bytes":
        file.write_bytes(b"From x " + data.draw(st.binary(max_size=300)))
    elif kind == "mangled":
        file.write_bytes(data.draw(mangled_text(original.decode("utf-8"))).encode("utf-8"))
    else:
        header = data.draw(st.sampled_from(["Date", "From", "To", "Cc", "Message-ID", "In-Reply-To", "Content-Type",
                                            "Content-Transfer-Encoding", "Subject"]))
        value = data.draw(st.text(max_size=40).map(lambda t: t.replace("\n", " ").replace("\r", " ")))
        text = original.decode("utf-8").replace(f"\n{header}: ", f"\n{header}: {value}", 1)
        file.write_bytes(text.encode("utf-8"))
    try:
        only_bad_input(lambda: _read_all(workspace, "zoho_mail", "messages"))
    finally:
        file.write_bytes(original)
