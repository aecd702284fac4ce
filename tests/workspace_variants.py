"""Workspaces that are not the demo: the demo renamed to a company's own names, or with sources taken away.

``renamed(src, dst)`` gives every system, dataset and collection key a name that shares nothing
with the demo's (``s01``, ``d01``, ``c01`` ...), everywhere a workspace names them: the manifests,
sources.yml (a renamed collection says which standard export it is with ``standard:``),
policy.yml and the access-review log, whose rows name systems by their key. It returns the
renaming, so findings can be compared with the demo's, names aside.
"""
from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Renames:
    systems: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)
    collections: dict[tuple[str, str], str] = field(default_factory=dict)  # (old dataset, old collection) -> new

    def back(self) -> dict[str, str]:
        """New name -> old name, for systems, datasets and collections alike (all new names are distinct)."""
        out = {v: k for k, v in self.systems.items()}
        out.update({v: k for k, v in self.datasets.items()})
        out.update({v: k[1] for k, v in self.collections.items()})
        return out


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def renamed(src: Path, dst: Path) -> Renames:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".datamap"))
    manifests = {p: _load(p) for p in sorted((dst / "manifests").glob("*.yml"))}
    names = Renames()
    for doc in manifests.values():
        for system in doc.get("system") or []:
            names.systems[system["fides_key"]] = f"s{len(names.systems) + 1:02d}"
        for dataset in doc.get("dataset") or []:
            names.datasets[dataset["fides_key"]] = f"d{len(names.datasets) + 1:02d}"
            for coll in dataset.get("collections") or []:
                names.collections[(dataset["fides_key"], coll["name"])] = f"c{len(names.collections) + 1:02d}"
    sources = _load(dst / "sources.yml")
    for dataset, config in sources["datasets"].items():  # collections sources.yml has and the map does not
        for coll in config["collections"]:
            names.collections.setdefault((dataset, coll), f"c{len(names.collections) + 1:02d}")

    sysname = lambda key: names.systems.get(key, key)  # noqa: E731
    for path, doc in manifests.items():
        for system in doc.get("system") or []:
            old = system["fides_key"]
            system["fides_key"] = sysname(old)
            system["dataset_references"] = [names.datasets[d] for d in system.get("dataset_references") or []]
            for flow in (system.get("egress") or []) + (system.get("ingress") or []):
                flow["fides_key"] = sysname(flow["fides_key"])
            meta = system.get("meta") or {}
            if meta.get("hosted_by"):
                meta["hosted_by"] = sysname(meta["hosted_by"])
            for decl in system.get("privacy_declarations") or []:
                if decl.get("dataset_references"):
                    decl["dataset_references"] = [names.datasets[d] for d in decl["dataset_references"]]
                if decl.get("third_parties") in names.systems:
                    decl["third_parties"] = sysname(decl["third_parties"])
        for dataset in doc.get("dataset") or []:
            old = dataset["fides_key"]
            dataset["fides_key"] = names.datasets[old]
            for coll in dataset.get("collections") or []:
                coll["name"] = names.collections[(old, coll["name"])]
        _dump(path, doc)

    renamed_sets = {}
    for dataset, config in sources["datasets"].items():
        config["collections"] = {names.collections[(dataset, coll)]: {**(spec or {}), "standard": coll}
                                 for coll, spec in config["collections"].items()}
        renamed_sets[names.datasets[dataset]] = config
    sources["datasets"] = renamed_sets
    _dump(dst / "sources.yml", sources)

    policy = _load(dst / "policy.yml")
    for rule in policy.get("retention") or []:
        dataset = _dataset_of(manifests, names, rule["system"])
        rule["collection"] = names.collections[(dataset, rule["collection"])]
        rule["system"] = sysname(rule["system"])
    access = policy.get("access") or {}
    access["reviewed_systems"] = [sysname(s) for s in access.get("reviewed_systems") or []]
    if access.get("systems"):
        access["systems"] = {sysname(k): v for k, v in access["systems"].items()}
    _dump(dst / "policy.yml", policy)

    reviews = dst / "governance" / "access_reviews.csv"
    if reviews.exists():
        rows = list(csv.reader(reviews.open(encoding="utf-8", newline="")))
        column = rows[0].index("system")
        for row in rows[1:]:
            row[column] = sysname(row[column])
        with reviews.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
    return names


def _dataset_of(manifests: dict[Path, Any], names: Renames, system: str) -> str:
    """The old dataset a retention rule's (old) system holds."""
    for doc in manifests.values():
        for item in doc.get("system") or []:
            if item["fides_key"] == names.systems.get(system) and item.get("dataset_references"):
                new = item["dataset_references"][0]
                return next(old for old, n in names.datasets.items() if n == new)
    return system


def with_absent(src: Path, dst: Path, absent: dict[tuple[str, str], str], remove_files: bool = True) -> None:
    """A copy of a workspace whose sources.yml declares some collections absent (and, by default, lacks their files)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".datamap"))
    sources = _load(dst / "sources.yml")
    for (dataset, coll), reason in absent.items():
        spec = sources["datasets"][dataset]["collections"][coll]
        if remove_files and spec.get("file"):
            (dst / spec["file"]).unlink()
        sources["datasets"][dataset]["collections"][coll] = {"absent": reason}
    _dump(dst / "sources.yml", sources)
