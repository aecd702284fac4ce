"""``datamap map WORKSPACE [QUERY] [ARG]``: validate the data map and ask it questions."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from datamap.commands import app, one_line_errors, working
from datamap.errors import EXIT_FINDINGS, EXIT_OK

QUERIES = {
    "summary": "systems, datasets and external parties (default)",
    "where": "CATEGORY: every system and field holding it (narrower categories included)",
    "flows": "CATEGORY: every path from collection to each recipient",
    "recipients": "who receives personal data outside the organization, on which terms",
    "breach": "SYSTEM: what a breach exposes, and whether Art. 33/34 notifications are likely due",
    "findings": "the map-level findings (on a bare folder of manifests, those the manifests alone give)",
    "draw": "the drawings (PNG and SVG) into --out",
    "export": "the map as fideslang YAML into --out",
}


@app.command("map")
@one_line_errors
def map_command(
    workspace: Path = typer.Argument(..., help="workspace folder (or a folder of fideslang manifests)"),
    query: str = typer.Argument("summary", help="; ".join(f"{k}: {v}" for k, v in QUERIES.items())),
    arg: Optional[str] = typer.Argument(None, help="the category or system the query is about"),
    out: Optional[Path] = typer.Option(None, "--out", help="output folder for draw and export"),
    as_json: bool = typer.Option(False, "--json", help="print the answer as JSON"),
    counts: Optional[Path] = typer.Option(None, "--counts", help='breach: JSON file {"dataset.collection": records}'),
) -> None:
    """Validate the data map and answer one question about it; exit 1 when `findings` finds any, else 0."""
    from datamap import map as datamap_map
    from datamap.errors import BadInput

    if query not in QUERIES:
        raise BadInput(None, query, "unknown map query", f"one of {', '.join(QUERIES)}")
    if query in ("where", "flows", "breach") and not arg:
        raise BadInput(None, query, "needs an argument", QUERIES[query])
    if query in ("draw", "export") and out is None:
        raise BadInput(None, query, "needs --out FOLDER")
    ws = _workspace_or_folder(workspace)
    dm = datamap_map.load_map(ws)
    answer: Any
    if query == "summary":
        answer = datamap_map.summary(dm)
    elif query == "where":
        answer = datamap_map.where(dm, arg)
    elif query == "flows":
        answer = datamap_map.flows(dm, arg)
    elif query == "recipients":
        answer = datamap_map.external_recipients(dm)
    elif query == "breach":
        answer = datamap_map.breach_impact(dm, arg, _read_counts(counts) if counts else None)
    elif query == "findings":
        if isinstance(ws, Path):  # no policy.yml: the notice's rules cannot be judged, the manifests' can
            print("note: no policy.yml, so the rules that judge the map against the notice were not evaluated "
                  "(purpose.undeclared_use, notice.category_not_disclosed)", file=sys.stderr)
            answer = [f.to_dict() for f in datamap_map.manifest_findings(dm)]
        else:
            answer = [f.to_dict() for f in datamap_map.map_findings(dm, ws.policy)]
    elif query == "draw":
        from datamap.map.draw import draw_all

        with working("drawing the map, then one drawing per category that flows"):
            answer = [str(p) for p in draw_all(dm, out)]
    else:
        if Path(out).resolve() == _manifest_folder(workspace).resolve():
            raise BadInput(str(out), "export", "is the folder the map was read from; the export would overwrite "
                           "its manifests", "export into another folder")
        answer = [str(p) for p in datamap_map.write_manifests(dm, out)]
    print(json.dumps(answer, indent=2, ensure_ascii=False) if as_json else datamap_map.as_text(query, answer))
    raise typer.Exit(EXIT_FINDINGS if query == "findings" and answer else EXIT_OK)


def _manifest_folder(path: Path) -> Path:
    """The folder the map's manifests are read from: WORKSPACE/manifests, or a bare folder of manifests itself."""
    if path.is_file():
        return path.parent
    return path / "manifests" if (path / "manifests").is_dir() else path


def _workspace_or_folder(path: Path) -> Any:
    """A full workspace when it has policy.yml, else the folder itself (a bare manifest set)."""
    from datamap.workspace import load_workspace

    return load_workspace(path) if (path / "policy.yml").exists() else path


def _read_counts(path: Path) -> dict[str, int]:
    """Read ``{"dataset.collection": records}``; anything else is bad input."""
    from datamap.errors import BadInput

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(str(path), None, f"not a readable JSON file ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
        raise BadInput(str(path), None, 'expected {"dataset.collection": number of records}')
    return data
