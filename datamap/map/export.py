"""The map back as fideslang manifests: one YAML file per source file, valid for fideslang alone."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from datamap.map.model import RESOURCE_TYPES, DataMap
from datamap.outputs import write_atomic


def to_manifests(dm: DataMap, include_extensions: bool = True) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The map as fideslang manifests, one per source file (``file -> {resource type: [resource]}``).

    Only what was set in the manifests is written, so a reload gives equal models. With
    ``include_extensions`` the shipped extensions are added as ``datamap_extensions.yml`` so the
    export validates with fideslang alone.
    """
    from datamap.taxonomy import shipped_extensions

    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    collections = {"organization": dm.organizations, "system": dm.systems, "dataset": dm.datasets,
                   "policy": dm.policies, **dm.custom_taxonomy}
    for rtype in RESOURCE_TYPES:
        for key, model in collections[rtype].items():
            file = Path(dm.source_of(rtype, key)).name
            out.setdefault(file, {}).setdefault(rtype, []).append(_dump(model))
    if include_extensions:
        for kind, model, _file in shipped_extensions():
            out.setdefault("datamap_extensions.yml", {}).setdefault(kind, []).append(_dump(model))
    return out


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


def write_manifests(dm: DataMap, out_dir: str | os.PathLike[str], include_extensions: bool = True) -> list[Path]:
    """Write the map back as fideslang YAML files into ``out_dir``; return the paths written."""
    import yaml

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_atomic(folder / name, yaml.safe_dump(docs, sort_keys=False, allow_unicode=True))
            for name, docs in sorted(to_manifests(dm, include_extensions).items())]
