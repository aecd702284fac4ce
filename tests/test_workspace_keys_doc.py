"""docs/workspace.md documents every key a workspace may use: the roles table and every policy.yml key."""
from __future__ import annotations

import re
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from datamap.roles import roles_markdown
from datamap.workspace import Policy, SourcesConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "workspace.md"


def _region(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    assert match, f"docs/workspace.md has no {name} region"
    return match.group(1)


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every dotted key of a model; a list of models is ``key[]``, its fields ``key[].field``."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        inner = info.annotation
        if typing.get_origin(inner) in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(inner) if a is not type(None)][0]
        if typing.get_origin(inner) is list and isinstance(typing.get_args(inner)[0], type) \
                and issubclass(typing.get_args(inner)[0], BaseModel):
            keys.add(f"{key}[]")
            keys |= model_keys(typing.get_args(inner)[0], f"{key}[].")
        elif isinstance(inner, type) and issubclass(inner, BaseModel):
            keys |= model_keys(inner, f"{key}.")
        else:
            keys.add(key)
    return keys


def documented_policy_keys() -> set[str]:
    rows = [line for line in _region("policy-keys").splitlines()[2:] if line.startswith("|")]
    keys = {re.match(r"\| `([^`]+)`", row).group(1) for row in rows}
    # a list of models documented in one row names its fields in the row's text
    for row in rows:
        head = re.match(r"\| `([^`]+)`", row).group(1)
        if head.endswith("[]"):
            keys |= {f"{head}.{f}" for f in re.findall(r"`([a-z_]+)`", row)}
    return keys


def test_the_roles_table_is_the_roles_catalogue():
    assert _region("roles") == roles_markdown()


def test_every_policy_key_is_documented_with_what_reads_it():
    missing = sorted(model_keys(Policy) - documented_policy_keys())
    assert not missing, f"policy.yml keys not in docs/workspace.md: {missing}"


def test_the_key_walk_sees_nested_and_listed_keys():
    keys = model_keys(Policy)
    assert {"access.systems", "notice.version", "retention[].date_column", "requests.privacy_mailbox"} <= keys
    assert {"absent", "datasets"} <= model_keys(SourcesConfig)


def test_every_collection_key_of_sources_yml_is_documented():
    from datamap.workspace import CollectionSource, DatasetSource

    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## sources.yml"):text.index("## policy.yml")]
    for key in set(CollectionSource.model_fields) | set(DatasetSource.model_fields) | set(SourcesConfig.model_fields):
        assert f"`{key}" in section, f"sources.yml key {key!r} is not documented"


def test_the_demo_policy_uses_documented_keys_only():
    import yaml

    demo = yaml.safe_load((Path(__file__).resolve().parents[1] / "datamap" / "demo" / "data" / "policy.yml").read_text())

    def walk(data, prefix=""):
        for key, value in data.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and name not in ("access.roles", "access.restricted_categories", "access.systems"):
                yield from walk(value, name + ".")
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for item in value:
                    yield from walk(item, name + "[].")
            else:
                yield name

    used = set(walk(demo))
    assert used <= documented_policy_keys(), sorted(used - documented_policy_keys())


def test_without_as_of_the_reference_date_is_today_in_the_companys_time_zone(monkeypatch):
    import datetime as dt

    from datamap.workspace import Policy

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # 23:30 UTC on 31 December is already New Year's Day in Amsterdam
            return dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc).astimezone(tz)

    monkeypatch.setattr(dt, "datetime", Clock)
    base = {"organization": "x", "notice": {"file": "n.txt", "purposes": []}, "retention": [],
            "access": {"roles": {}}, "recipients": {}, "requests": {"privacy_mailbox": "p@x.nl"}}
    assert Policy.model_validate({**base, "timezone": "Europe/Amsterdam"}).reference_date() == dt.date(2027, 1, 1)
    assert Policy.model_validate({**base, "timezone": "UTC"}).reference_date() == dt.date(2026, 12, 31)
