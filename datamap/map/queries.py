"""The questions an auditor asks the map, each taking the map first and returning plain data.

>>> dm = load_map("workspace/demo")                     # doctest: +SKIP
>>> where(dm, "user.financial.bank_account")            # doctest: +SKIP
{'category': 'user.financial.bank_account', 'systems': ['zoho_books'],
 'fields': {'zoho_books.customer_payments.bank_account': 'user.financial.bank_account'}}
>>> flows(dm, "user.device.ip_address")                 # doctest: +SKIP
[['zoho_salesiq', 'zoho_corporation']]
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, NotRequired, TypedDict

from datamap.map.graph import declared_flows, system_categories, system_datasets, unattached_datasets
from datamap.map.load import check_exists
from datamap.map.model import EEA, USER, DataMap, dataset_nodes
from datamap.taxonomy import high_risk_reason, is_personal

if TYPE_CHECKING:
    import networkx as nx
    from fideslang.models import System


class Location(TypedDict):
    """Where a category lives: the systems, and each field with the categories it holds.

    ``unattached`` is there only when datasets no system references hold the category too.
    """

    category: str
    systems: list[str]
    fields: dict[str, str]
    unattached: NotRequired[list[str]]


# One party outside the organization that receives personal data, and on which terms
# (``processing_agreement`` None: not a processor, no Art. 28 agreement needed). Functional form:
# ``from`` is a keyword.
Recipient = TypedDict("Recipient", {
    "party": str, "name": str, "role": str, "processing_agreement": "bool | None", "dpa_location": "str | None",
    "country": "str | None", "outside_eea": bool, "transfer_basis": list[str], "categories": list[str],
    "from": list[str], "via": list[str],
})


class BreachImpact(TypedDict):
    """What a breach of one system exposes, and whether notifications are likely due (with why)."""

    system: str
    categories: list[str]
    subjects: list[str]
    records: dict[str, int | None]
    total_records: int | None
    flows_on: list[list[str]]
    notify_authority: bool
    notify_subjects: bool
    high_risk_categories: list[str]
    reasons: list[str]


def system_of_dataset(dm: DataMap, dataset: str) -> str:
    """The system that holds a dataset: the one whose ``dataset_references`` (its own or a declaration's) name it.

    An internal system comes before an external party, then the first by fides_key. A dataset no
    system references answers with its own key, so that what is found in it still has a place.
    """
    holders = [key for key in sorted(dm.systems) if dataset in system_datasets(dm, key)]
    internal = [key for key in holders if not dm.is_external(key)]
    return (internal or holders or [dataset])[0]


def where(dm: DataMap, category: str) -> Location:
    """Every system and field holding a category or a narrower one (``user.contact`` finds e-mail too).

    Returns ``{"category", "systems": [fides_key], "fields": {"dataset.collection.field": category}}``;
    fields of datasets no system references are listed too, and those datasets under ``unattached``.
    """
    dm.taxonomy.check("data_category", category, None, None)
    tax = dm.taxonomy
    fields: dict[str, str] = {}
    holders: set[str] = set()
    loose: set[str] = set()

    def held(ds: str) -> bool:
        found = False
        for path, node in dataset_nodes(dm.datasets[ds]):
            hits = [c for c in node.data_categories or [] if tax.covers("data_category", category, c)]
            if hits:
                found = True
                if len(path) >= 2:
                    fields[".".join([ds, *path])] = ", ".join(sorted(hits))
        return found

    for key in dm.systems:
        for decl in dm.systems[key].privacy_declarations:
            if any(tax.covers("data_category", category, c) for c in decl.data_categories):
                holders.add(key)
        for ds in system_datasets(dm, key):
            if held(ds):
                holders.add(key)
    for ds in unattached_datasets(dm):
        if held(ds):
            loose.add(ds)
    answer: Location = {"category": category, "systems": sorted(holders), "fields": dict(sorted(fields.items()))}
    if loose:
        answer["unattached"] = sorted(loose)
    return answer


def _carries(dm: DataMap, carried: Iterable[str], category: str) -> bool:
    """A flow carries a category when it names it, a narrower one, or a broader one (``user.contact`` holds e-mail)."""
    tax = dm.taxonomy
    return any(tax.covers("data_category", category, c) or tax.covers("data_category", c, category) for c in carried)


def flow_graph(dm: DataMap, category: str | None = None) -> "nx.DiGraph":
    """The flows between systems (and the subjects), optionally only those carrying a category.

    A system's host (``meta.hosted_by``) receives everything the system holds, so hosting is a
    flow too (edge attribute ``via: hosting``).
    """
    import networkx as nx

    g = nx.DiGraph()
    for a, b, k, data in dm.graph.edges(keys=True, data=True):
        if k == "flows_to" and (category is None or _carries(dm, data["categories"], category)):
            g.add_edge(_short(a), _short(b), categories=data["categories"], via="flow")
    for key, system in sorted(dm.systems.items()):
        host = (system.meta or {}).get("hosted_by")
        held = system_categories(dm, key)
        if host and (category is None or _carries(dm, held, category)) and not g.has_edge(key, str(host)):
            g.add_edge(key, str(host), categories=held, via="hosting")
    return g


def _short(nid: str) -> str:
    """Systems by their fides_key; a dataset keeps its ``dataset:`` prefix (it may share the key)."""
    return nid.split(":", 1)[1] if nid.startswith("system:") else nid


def flows(dm: DataMap, category: str) -> list[list[str]]:
    """Every path a category takes, from where it is collected to each recipient, internal and external.

    A path starts at ``user`` (collected from the subjects) or, when no flow brings the category in,
    at a system that holds it; it ends where the category flows no further. Paths are lists of
    fides_keys, sorted.
    """
    import networkx as nx

    dm.taxonomy.check("data_category", category, None, None)
    g = flow_graph(dm, category)
    holders = set(where(dm, category)["systems"])
    starts = {n for n in g if n == USER or (n in holders and g.in_degree(n) == 0)}
    paths: list[list[str]] = []

    def walk(start: str) -> None:
        for end in g:
            if end != start:
                paths.extend(list(p) for p in nx.all_simple_paths(g, start, end) if not _extends(p, g))

    for start in sorted(starts):
        walk(start)
    on_paths = {n for p in paths for n in p}
    for holder in sorted(holders & set(g) - on_paths):  # a cycle nothing feeds: start at each of its holders
        walk(holder)
    for holder in sorted(holders - set(g)):  # kept where it is: a path of one system
        paths.append([holder])
    return sorted(paths)


def _extends(path: list[str], g: "nx.DiGraph") -> bool:
    """Tell whether a simple path can still go on (then only its longest form is reported)."""
    return any(nxt not in path for nxt in g.successors(path[-1]))


def external_recipients(dm: DataMap) -> list[Recipient]:
    """Who receives personal data outside the organization: role, agreement, EEA, transfer basis.

    A party receives data through a flow from a system or by hosting a system (``meta.hosted_by``).
    """
    received: dict[str, dict[str, set[str]]] = {}
    for (src, dst), flow in declared_flows(dm).items():
        if dst in dm.systems and dm.is_external(dst):
            personal = {c for c in flow["categories"] if is_personal(dm.taxonomy, c)}
            if personal:
                entry = received.setdefault(dst, {"categories": set(), "from": set(), "via": set()})
                entry["categories"] |= personal
                entry["from"].add(src)
                entry["via"].add("flow")
    for key, system in dm.systems.items():
        host = (system.meta or {}).get("hosted_by")
        if host and str(host) in dm.systems and dm.is_external(str(host)):
            personal = {c for c in system_categories(dm, key) if is_personal(dm.taxonomy, c)}
            if personal:
                entry = received.setdefault(str(host), {"categories": set(), "from": set(), "via": set()})
                entry["categories"] |= personal
                entry["from"].add(key)
                entry["via"].add("hosting")
    out = []
    for key in sorted(received):
        party = dm.systems[key]
        meta = party.meta or {}
        outside = outside_eea(party)
        out.append({
            "party": key,
            "name": party.name or key,
            "role": party.system_type,
            # only a processor needs an Art. 28 agreement; None means not applicable
            "processing_agreement": bool(party.dpa_location) if party.system_type == "Processor" else None,
            "dpa_location": party.dpa_location,
            "country": meta.get("country"),
            "outside_eea": outside,
            "transfer_basis": list(party.legal_basis_for_transfers or []),
            "categories": sorted(received[key]["categories"]),
            "from": sorted(received[key]["from"]),
            "via": sorted(received[key]["via"]),
        })
    return out


def outside_eea(party: "System") -> bool:
    """Tell whether data sent to a party leaves the EEA: it says so (``meta.eea: false``,
    ``does_international_transfers``), or its ``meta.country`` lies outside the EEA and it does not
    claim ``meta.eea: true``. The map rules and the register ask this one question."""
    meta = party.meta or {}
    if meta.get("eea") is False or party.does_international_transfers:
        return True
    country = str(meta.get("country") or "").upper()
    return bool(country) and country not in EEA and meta.get("eea") is not True


def breach_impact(dm: DataMap, system: str, counts: Mapping[str, int] | None = None) -> BreachImpact:
    """What a breach of one system exposes and whether Art. 33 and Art. 34 notifications are likely due.

    ``counts`` maps ``dataset.collection`` to a record count (the audit store can supply them);
    without it the record counts are unknown (None). The reasoning is returned with the answer.
    """
    if system not in dm.systems:
        check_exists(system, dm.systems, "system", None, None, "unknown system")  # type: ignore[arg-type]
    tax = dm.taxonomy
    categories = system_categories(dm, system)
    personal = [c for c in categories if is_personal(tax, c)]
    subjects = sorted({s for d in dm.systems[system].privacy_declarations for s in d.data_subjects})
    collections = [f"{ds}.{c.name}" for ds in system_datasets(dm, system) for c in dm.datasets[ds].collections]
    records = {c: (counts or {}).get(c) for c in collections}
    known = [n for n in records.values() if n is not None]
    onward = _onward_paths(dm, system)
    reasons: list[str] = []
    high = {c: high_risk_reason(tax, c) for c in personal}
    high = {c: r for c, r in high.items() if r}
    if personal:
        reasons.append(f"holds {len(personal)} categories of personal data of {', '.join(subjects) or 'unnamed subjects'}: "
                       "report to the Autoriteit Persoonsgegevens within 72 hours unless the breach is unlikely to result in a risk (Art. 33(1))")
    else:
        reasons.append("holds no personal data: no notification, but document the breach (Art. 33(5))")
    for c, why in sorted(high.items()):
        reasons.append(f"{c} is {why}: high risk to the subjects, tell them without undue delay (Art. 34(1))")
    if personal and not high:
        reasons.append("no special, financial, credential or national-id data: a notice to the subjects is not presumed (Art. 34)")
    if known:
        reasons.append(f"{sum(known)} records in {len(known)} of its {len(records)} collections are exposed "
                       "(collections without a count are not included)" if len(known) < len(records)
                       else f"{sum(known)} records in its {len(records)} collections are exposed")
    if onward:
        recipients = sorted({n for p in onward for n in p[1:]})
        reasons.append(f"the data flows on to {', '.join(recipients)}: include them in the assessment")
    return {
        "system": system,
        "categories": personal,
        "subjects": subjects,
        "records": records,
        "total_records": sum(known) if known else None,
        "flows_on": onward,
        "notify_authority": bool(personal),
        "notify_subjects": bool(high),
        "high_risk_categories": sorted(high),
        "reasons": reasons,
    }


def _onward_paths(dm: DataMap, system: str) -> list[list[str]]:
    import networkx as nx

    g = flow_graph(dm)
    if system not in g:
        return []
    paths = []
    for end in g:
        if end != system:
            for path in nx.all_simple_paths(g, system, end):
                if not _extends(path, g):
                    paths.append(list(path))
    return sorted(paths)
