"""Drawings of the data map for a report: the whole map in layers, and one per category.

Layers left to right: the data subjects the data is collected from, the organization's own
systems (a system that receives from another sits one step to the right), processors, and third
parties with public authorities. Flow edges are coloured by category group (contact, financial,
device, ...), one strand per group; hosting is a dashed grey edge. Parties outside the EEA have a
red frame and their incoming edges a red underlay; a processor without an agreement on file is
marked in its label. A dataset no system references stands in a last column of its own, in a
dashed red frame: the map holds it, but no system does. matplotlib is imported only here, and only
when drawing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datamap.map.graph import dataset_categories, system_categories, unattached_datasets
from datamap.map.model import USER, DataMap
from datamap.map.queries import flow_graph, outside_eea, where
from datamap.taxonomy import category_group, is_personal

if TYPE_CHECKING:
    from matplotlib.figure import Figure


GROUP_COLOURS = {
    "name": "#1f77b4", "contact": "#2ca02c", "financial": "#d62728", "device": "#9467bd",
    "behavior": "#8c564b", "location": "#e377c2", "authorization": "#ff7f0e", "account": "#bcbd22",
    "unique_id": "#17becf", "content": "#7f7f7f", "government_id": "#000000", "social": "#aec7e8",
    "privacy_preferences": "#98df8a", "job_title": "#c5b0d5", "workplace": "#c49c94",
    "demographic": "#f7b6d2", "health_and_medical": "#ff9896", "biometric": "#ff9896",
    "criminal_history": "#ff9896", "childrens": "#ffbb78", "payment": "#d62728",
}
LAYER_TITLES = ("data subjects", "own systems", "processors", "third parties and authorities", "datasets no system holds")
UNATTACHED = "dataset:"  # prefix of an unattached dataset's node in a drawing
NODE_STYLE = {
    "subject": {"fc": "#f2f2f2", "ec": "#999999"},
    "internal": {"fc": "#dbe9f6", "ec": "#2f5d8a"},
    "Processor": {"fc": "#fdf0d5", "ec": "#b7791f"},
    "Third Party": {"fc": "#f8d7da", "ec": "#a33a3a"},
    "Public Authority": {"fc": "#e2e3e5", "ec": "#41464b"},
    "unattached": {"fc": "#ffffff", "ec": "#b00020"},
}


def _colour(group: str) -> str:
    return GROUP_COLOURS.get(group, "#444444")


def _layout(dm: DataMap, systems: list[str], subjects: list[str], flows: Any,
            loose: list[str] | None = None) -> dict[str, tuple[float, float]]:
    """Columns per layer; internal systems shift right by their depth in the internal flows; unattached datasets last."""
    import networkx as nx

    internal = [s for s in systems if not dm.is_external(s)]
    inner = nx.DiGraph()
    inner.add_nodes_from(internal)
    inner.add_edges_from((a, b) for a, b in flows.edges if a in internal and b in internal)
    depth: dict[str, int] = {s: 0 for s in internal}
    if nx.is_directed_acyclic_graph(inner):
        for node in nx.topological_sort(inner):
            for succ in inner.successors(node):
                depth[succ] = max(depth[succ], depth[node] + 1)
    max_depth = max(depth.values(), default=0)
    # the subjects, and ``user`` when a flow says the data is handed over by the subjects themselves
    columns: dict[float, list[str]] = {0.0: [f"subject:{s}" for s in subjects] + [n for n in flows if n == USER]}
    for s in internal:
        columns.setdefault(1.0 + 0.8 * depth[s], []).append(s)
    x_proc, x_third = 2.2 + 0.8 * max_depth, 3.4 + 0.8 * max_depth
    for s in systems:
        if dm.is_external(s):
            columns.setdefault(x_proc if dm.systems[s].system_type == "Processor" else x_third, []).append(s)
    columns = {x: names for x, names in columns.items() if names}
    if loose:
        columns[max(columns, default=-1.2) + 1.2] = [UNATTACHED + d for d in loose]
    pos: dict[str, tuple[float, float]] = {}
    tallest = max((len(v) for v in columns.values()), default=1)
    for x in sorted(columns):
        names = columns[x]
        step = tallest / max(len(names), 1)
        even = {n: tallest - (i + 0.5) * step for i, n in enumerate(sorted(names))}
        wanted = {n: _feeders_mean(n, flows, pos, even[n]) for n in names}
        placed = _place_column(x, wanted, pos, flows, tallest)
        for name, y in (placed or even).items():
            pos[name] = (x, y)
    return pos


def _feeders_mean(name: str, flows: Any, pos: dict[str, tuple[float, float]], default: float) -> float:
    """The mean height of the already placed nodes that send to ``name`` (``default`` when none)."""
    ys = [pos[p][1] for p in (flows.predecessors(name) if name in flows else []) if p in pos]
    return sum(ys) / len(ys) if ys else default


def _place_column(x: float, wanted: dict[str, float], pos: dict[str, tuple[float, float]], flows: Any,
                  tallest: float, gap: float = 1.0) -> dict[str, float] | None:
    """Put each node level with what feeds it where its edges pass no box, one row apart; None if it cannot."""
    placed: dict[str, float] = {}
    slots = [k + 0.5 for k in range(int(tallest) + 1)]
    for n in sorted(wanted, key=lambda n: (-wanted[n], n)):
        near = [wanted[n] + d for d in (0, -0.5, 0.5, -1, 1, -1.5, 1.5, -2, 2, -3, 3)]
        free = [c for c in near + slots if 0.5 <= c <= tallest - 0.5 + 1e-9
                and all(abs(c - y) >= gap - 1e-9 for y in placed.values())]
        if not free:
            return None
        placed[n] = min(free, key=lambda c: _cost(n, x, c, wanted[n], pos, flows))
    return placed


def _cost(name: str, x: float, y: float, wanted: float, pos: dict[str, tuple[float, float]], flows: Any) -> float:
    """A flow edge through a box costs most, a hosting edge through one less; distance from ``wanted`` costs
    more the more edges it stretches."""
    feeders = len(list(flows.predecessors(name))) if name in flows else 0
    cost = 0.5 * max(feeders, 1) * abs(y - wanted)
    for p in flows.predecessors(name) if name in flows else []:
        if p not in pos:
            continue
        px, py = pos[p]
        weight = 3.0 if flows.edges[p, name].get("via") == "hosting" else 10.0
        for mx, my in pos.values():
            if px < mx < x and abs(py + (y - py) * (mx - px) / (x - px) - my) < 0.45:
                cost += weight
    return cost


def draw_map(dm: DataMap, category: str | None = None) -> "Figure":
    """Draw the whole map, or only the paths of one category (``category`` and narrower)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    flows = flow_graph(dm, category)
    if category is None:
        systems = sorted(dm.systems)
        held = {s: system_categories(dm, s) for s in systems}
    else:
        holders = where(dm, category)["systems"]
        systems = sorted(set(holders) | {n for n in flows if n in dm.systems})
        held = {s: [c for c in system_categories(dm, s) if dm.taxonomy.covers("data_category", category, c)] for s in systems}
    subjects = sorted({subj for s in systems if not dm.is_external(s) for d in dm.systems[s].privacy_declarations
                       for subj in d.data_subjects
                       if category is None or any(dm.taxonomy.covers("data_category", category, c)
                                                  or dm.taxonomy.covers("data_category", c, category) for c in d.data_categories)})
    loose = unattached_datasets(dm) if category is None else where(dm, category).get("unattached", [])
    pos = _layout(dm, systems, subjects, flows, loose)
    tallest = max((y for _x, y in pos.values()), default=1) + 0.5
    width = max(x for x, _y in pos.values()) + 1.2 if pos else 4
    fig = Figure(figsize=(max(11, 2.5 * width), max(6, 0.95 * tallest + 2.2)), dpi=110)
    ax = fig.add_axes((0.01, 0.10, 0.98, 0.82))
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-0.4, tallest + 0.4)
    ax.axis("off")

    boxes: dict[str, Any] = {}
    for name, (x, y) in pos.items():
        if name.startswith("subject:") or name == USER:
            key = name.split(":", 1)[1] if name != USER else ""
            label = dm.taxonomy.name("data_subject", key) if key else "handed over by\nthe subjects"
            style, frame = NODE_STYLE["subject"], "#999999"
        elif name.startswith(UNATTACHED):
            key = name.removeprefix(UNATTACHED)
            cats = [c for c in dataset_categories(dm, key) if is_personal(dm.taxonomy, c)
                    and (category is None or dm.taxonomy.covers("data_category", category, c))]
            held_here = ", ".join(sorted({c.split(".")[-1] for c in cats})) if category else f"{len(cats)} categories"
            label = f"{dm.datasets[key].name or key}\n{held_here}; no system holds it"
            boxes[name] = ax.text(x, y, label, ha="center", va="center", fontsize=9, zorder=5,
                                  bbox={"boxstyle": "round,pad=0.35", "fc": NODE_STYLE["unattached"]["fc"],
                                        "ec": NODE_STYLE["unattached"]["ec"], "lw": 1.4, "ls": "--"})
            continue
        else:
            system = dm.systems[name]
            role = system.system_type if dm.is_external(name) else "internal"
            style = NODE_STYLE.get(role, NODE_STYLE["internal"])
            label = system.name or name
            notes = []
            meta = system.meta or {}
            if dm.is_external(name):
                notes.append(meta.get("country") or "?")
                if outside_eea(system):
                    basis = "/".join(system.legal_basis_for_transfers) or "NO basis"
                    abroad = meta.get("transfer_countries") or []
                    where_ = "outside EEA" if meta.get("eea") is False else "transfers" + (f" to {'/'.join(abroad)}" if abroad else "")
                    notes.append(f"{where_}, {basis}")
                if role == "Processor" and not system.dpa_location:
                    notes.append("NO agreement")
            elif category is not None:
                notes.append(", ".join(c.split(".")[-1] for c in held.get(name, [])) or "receives")
            else:
                notes.append(f"{sum(1 for c in held[name] if is_personal(dm.taxonomy, c))} categories")
            label = f"{label}\n{'; '.join(notes)}"
            frame = "#d00000" if dm.is_external(name) and outside_eea(system) else style["ec"]
        boxes[name] = ax.text(x, y, label, ha="center", va="center", fontsize=9, zorder=5,
                bbox={"boxstyle": "round,pad=0.35", "fc": style["fc"], "ec": frame,
                      "lw": 2.2 if frame == "#d00000" else 1.0})

    # data subjects -> the own systems that hold their data (thin grey: collection, not a flow)
    for s in systems:
        if dm.is_external(s):
            continue
        for subj in {x for d in dm.systems[s].privacy_declarations for x in d.data_subjects}:
            if f"subject:{subj}" in pos:
                _line(ax, pos[f"subject:{subj}"], pos[s], "#c8c8c8", 0.7, 0.0, alpha=0.7, arrow=False,
                      boxes=(boxes[f"subject:{subj}"], boxes[s]))

    groups_used: set[str] = set()
    for a, b, data in flows.edges(data=True):
        if a not in pos or b not in pos:
            continue
        cats = [c for c in data["categories"] if is_personal(dm.taxonomy, c)]
        if category is not None:
            cats = [c for c in cats if dm.taxonomy.covers("data_category", category, c) or dm.taxonomy.covers("data_category", c, category)]
        groups = sorted({category_group(c) for c in cats}) or ["other"]
        hosting = data.get("via") == "hosting"
        if not hosting:
            groups_used.update(groups)
        outside = b in dm.systems and outside_eea(dm.systems[b])
        if outside:
            _line(ax, pos[a], pos[b], "#ff4d4d", 9.0, 0.0, alpha=0.22, arrow=False, boxes=(boxes[a], boxes[b]))
        if hosting:
            _line(ax, pos[a], pos[b], "#888888", 1.2, 0.0, style="--", arrow=True, boxes=(boxes[a], boxes[b]))
            continue
        n = len(groups)
        for i, g in enumerate(groups):
            offset = (i - (n - 1) / 2) * 0.035
            _line(ax, pos[a], pos[b], _colour(g), 1.9, offset, arrow=i == n // 2, boxes=(boxes[a], boxes[b]))

    xs = sorted({x for x, _y in pos.values()})
    by_title: dict[str, list[float]] = {}
    for x, title in _layer_names(xs, dm, pos).items():
        by_title.setdefault(title, []).append(x)
    for title, columns in by_title.items():
        ax.text(sum(columns) / len(columns), tallest + 0.15, title, ha="center", va="bottom", fontsize=10,
                fontweight="bold", color="#333333")
    title = "Data map" + (f": where {category} goes" if category else f" of {', '.join(o.name or k for k, o in dm.organizations.items()) or 'the organization'}")
    fig.suptitle(title, fontsize=13, fontweight="bold", y=0.98)

    handles = [Line2D([0], [0], color=_colour(g), lw=2.5, label=g.replace("_", " ")) for g in sorted(groups_used) if g != "other"]
    handles += [Line2D([0], [0], color="#888888", lw=1.2, ls="--", label="hosting (processor runs the system)"),
                Line2D([0], [0], color="#ff4d4d", lw=8, alpha=0.3, label="to a party outside the EEA"),
                Patch(fc=NODE_STYLE["internal"]["fc"], ec=NODE_STYLE["internal"]["ec"], label="own system"),
                Patch(fc=NODE_STYLE["Processor"]["fc"], ec=NODE_STYLE["Processor"]["ec"], label="processor"),
                Patch(fc=NODE_STYLE["Third Party"]["fc"], ec=NODE_STYLE["Third Party"]["ec"], label="third party"),
                Patch(fc=NODE_STYLE["Public Authority"]["fc"], ec=NODE_STYLE["Public Authority"]["ec"], label="public authority")]
    if loose:
        handles.append(Patch(fc=NODE_STYLE["unattached"]["fc"], ec=NODE_STYLE["unattached"]["ec"], ls="--",
                             label="dataset no system references"))
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 7), fontsize=8.5, frameon=False)
    return fig


def _layer_names(xs: list[float], dm: DataMap, pos: dict[str, tuple[float, float]]) -> dict[float, str]:
    names: dict[float, str] = {}
    for x in xs:
        members = [n for n, (px, _py) in pos.items() if px == x]
        if all(m.startswith("subject:") or m == USER for m in members):
            names[x] = LAYER_TITLES[0]
        elif all(m.startswith(UNATTACHED) for m in members):
            names[x] = LAYER_TITLES[4]
        elif all(m in dm.systems and not dm.is_external(m) for m in members):
            names[x] = LAYER_TITLES[1]
        elif all(m in dm.systems and dm.systems[m].system_type == "Processor" for m in members):
            names[x] = LAYER_TITLES[2]
        else:
            names[x] = LAYER_TITLES[3]
    return names


def _line(ax: Any, a: tuple[float, float], b: tuple[float, float], colour: str, width: float, offset: float,
          alpha: float = 0.9, style: str = "-", arrow: bool = True, boxes: tuple[Any, Any] = (None, None)) -> None:
    """A straight edge, shifted sideways by ``offset`` so that parallel strands stay apart."""
    import math

    (x1, y1), (x2, y2) = a, b
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx_, ny_ = -(y2 - y1) / length * offset, (x2 - x1) / length * offset
    start, end = (x1 + nx_, y1 + ny_), (x2 + nx_, y2 + ny_)
    if x1 == x2:  # same column: bow out so that the edge does not cross the boxes between
        ax.annotate("", xy=end, xytext=start, zorder=2,
                    arrowprops={"arrowstyle": "-|>" if arrow else "-", "color": colour, "lw": width, "alpha": alpha,
                                "linestyle": style, "connectionstyle": f"arc3,rad={0.35 + offset * 4}",
                                "shrinkA": 1, "shrinkB": 1, **_clip(boxes)})
        return
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops={"arrowstyle": "-|>" if arrow else "-", "color": colour, "lw": width, "alpha": alpha,
                            "linestyle": style, "shrinkA": 1, "shrinkB": 2, "mutation_scale": 12, **_clip(boxes)})


def _clip(boxes: tuple[Any, Any]) -> dict[str, Any]:
    """Clip an edge at the frames of the two node boxes, so that it starts and ends on them."""
    a, b = boxes
    return {"patchA": a.get_bbox_patch() if a is not None else None, "patchB": b.get_bbox_patch() if b is not None else None}


def save(fig: "Figure", out_dir: str | os.PathLike[str], stem: str) -> list[Path]:
    """Write a drawing as PNG and SVG; return both paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}.png", folder / f"{stem}.svg"]
    for path in paths:
        fig.savefig(path, bbox_inches="tight")
    return paths


def draw_all(dm: DataMap, out_dir: str | os.PathLike[str], categories: list[str] | None = None) -> list[Path]:
    """The whole map and one drawing per category (default: every personal category that flows)."""
    written = save(draw_map(dm), out_dir, "map")
    for category in categories if categories is not None else flowing_categories(dm):
        written += save(draw_map(dm, category), out_dir, f"map_{category.replace('.', '_')}")
    return written


def flowing_categories(dm: DataMap) -> list[str]:
    """The personal categories that leave the system that holds them (each worth its own drawing)."""
    cats: set[str] = set()
    for _a, _b, data in flow_graph(dm).edges(data=True):
        if data.get("via") == "flow":
            cats.update(c for c in data["categories"] if is_personal(dm.taxonomy, c))
    return sorted(cats)
