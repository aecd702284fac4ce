"""A Fides user's manifests, as they are: a dataset no system references loads as unattached (a map
finding, not bad input), and ``datamap evaluate`` judges the manifests' Policies as ``fides evaluate``.

``tests/fixtures/fides/`` is a bakery of our own, written in the shapes of Fides' published
examples (see its README). The expected violations below are worked out by hand from the
semantics Fides documents: per dimension ANY flags the declared keys whose lineage meets the rule's
values, ALL only when every declared key does, NONE all keys when none does, OTHER the keys whose
lineage misses them; a violation needs all three dimensions flagged; a declaration is evaluated
with the datasets it references itself, down to every nested field.

With ``DATAMAP_FIDES_CHECKOUT`` pointing at a checkout of github.com/ethyca/fides, the last tests
also load every example dataset of its ``data/dataset/``, its ``demo_resources/`` and its ``.fides/``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from datamap.map import (
    fides_evaluate,
    identity_collections,
    load_map,
    manifest_findings,
    map_findings,
    node_id,
    summary,
    unattached_datasets,
    where,
)
from datamap.map.policies import _compare

ROOT = Path(__file__).resolve().parents[1]
FIDES = ROOT / "tests" / "fixtures" / "fides"
FIDES_DEMO = ROOT / "tests" / "fixtures" / "fides_demo"
WORKSPACE = ROOT / "tests" / "fixtures" / "workspace"
STANDALONE = {  # file -> (dataset, its personal data categories)
    "crumb_orders_postgres_dataset.yml": ("crumb_orders_db", 7),
    "crumb_loyalty_mongo_dataset.yml": ("crumb_loyalty_docs", 5),
    "crumb_paper_forms_manual_dataset.yml": ("crumb_paper_forms", 4),
}


def alone(tmp_path: Path, name: str) -> Path:
    """A folder holding one manifest of the fixture and nothing else."""
    folder = tmp_path / Path(name).stem
    folder.mkdir()
    shutil.copy(FIDES / name, folder / name)
    return folder


# --- a dataset no system references ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STANDALONE))
def test_a_standalone_dataset_loads_on_its_own_as_one_unattached_finding(name, tmp_path):
    dataset, personal = STANDALONE[name]
    dm = load_map(alone(tmp_path, name))
    assert (sorted(dm.systems), sorted(dm.datasets), unattached_datasets(dm)) == ([], [dataset], [dataset])
    assert dm.graph.nodes[node_id("dataset", dataset)]["unattached"] is True
    [finding] = manifest_findings(dm)
    assert (finding.rule, finding.system, finding.record_key, finding.dataset) == ("map.dataset_unattached", dataset, dataset, dataset)
    assert (finding.claim, finding.check, finding.severity) == ("P13", "P13.map_datasets_attached", "medium")
    assert finding.evidence["source"] == name
    assert len(finding.evidence["personal_categories"]) == personal


def test_the_unattached_finding_says_how_to_attach_the_dataset(tmp_path):
    [finding] = manifest_findings(load_map(alone(tmp_path, "crumb_paper_forms_manual_dataset.yml")))
    assert finding.detail == (
        "dataset crumb_paper_forms (holds 4 personal data categories) is referenced by no system, so the register "
        "cannot say which processing it serves; attach it: add crumb_paper_forms to the dataset_references of the "
        "privacy declaration (or system) that holds it")
    assert finding.evidence == {"source": "crumb_paper_forms_manual_dataset.yml", "collections": ["catering_form"],
                                "personal_categories": ["user", "user.health_and_medical", "user.name", "user.unique_id"]}


def test_one_manifest_file_loads_as_fides_reads_it():
    dm = load_map(FIDES / "crumb_loyalty_mongo_dataset.yml")
    assert unattached_datasets(dm) == ["crumb_loyalty_docs"]
    assert dm.source_of("dataset", "crumb_loyalty_docs") == "crumb_loyalty_mongo_dataset.yml"


def test_nested_fields_identities_references_and_masking_overrides_are_understood():
    dm = load_map(FIDES)
    g = dm.graph
    mobile = node_id("field", "crumb_loyalty_docs.member.contact.mobile")
    assert g.nodes[mobile]["identity"] == "phone_number"
    assert g.has_edge(node_id("field", "crumb_loyalty_docs.member.contact"), mobile, key="stores")
    assert g.has_edge(node_id("field", "crumb_loyalty_docs.member.household.birthday"),
                      node_id("category", "user.demographic.date_of_birth"), key="holds")
    assert g.nodes[node_id("field", "crumb_orders_db.customer.id")]["primary_key"] is True
    assert identity_collections(dm, "email") == [("crumb_orders_db", "customer")]
    assert identity_collections(dm, "phone_number") == [("crumb_loyalty_docs", "member")]


def test_a_fides_folder_loads_with_its_one_unattached_dataset():
    dm = load_map(FIDES)
    s = summary(dm)
    assert (s["internal_systems"], s["datasets"], s["unattached_datasets"]) == (
        ["crumb_analytics", "crumb_webshop"], ["crumb_loyalty_docs", "crumb_orders_db", "crumb_paper_forms"], ["crumb_paper_forms"])
    assert "user.health_and_medical" in s["personal_data_categories"]  # held by the unattached forms only
    assert dm.graph.nodes[node_id("dataset", "crumb_orders_db")]["unattached"] is False
    assert [f.key for f in manifest_findings(dm)] == [("map.dataset_unattached", "crumb_paper_forms", "crumb_paper_forms")]


def test_where_answers_with_the_fields_of_unattached_datasets():
    dm = load_map(FIDES)
    assert where(dm, "user.health_and_medical") == {
        "category": "user.health_and_medical", "systems": [],
        "fields": {"crumb_paper_forms.catering_form.dietary_needs": "user.health_and_medical"},
        "unattached": ["crumb_paper_forms"]}
    assert where(dm, "user.demographic") == {
        "category": "user.demographic", "systems": ["crumb_analytics"],
        "fields": {"crumb_loyalty_docs.member.household.birthday": "user.demographic.date_of_birth"}}


def test_cli_where_names_the_unattached_dataset(capsys):
    from datamap.cli import main

    assert main(["map", str(FIDES), "where", "user.name"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "user.name is held by 2 systems: crumb_analytics, crumb_webshop",
        "  and by 1 datasets no system references: crumb_paper_forms",
        "  crumb_loyalty_docs.member.contact.first_name  (user.name.first)",
        "  crumb_loyalty_docs.member.household.first_name  (user.name.first)",
        "  crumb_orders_db.customer.full_name  (user.name)",
        "  crumb_paper_forms.catering_form.signature  (user.name)"]


def test_cli_map_findings_on_a_bare_fides_folder_gives_the_manifests_findings_and_exit_1(capsys):
    """No policy.yml: the findings the manifests alone give, and a note naming the rules not judged."""
    from datamap.cli import main

    assert main(["map", str(FIDES), "findings", "--json"]) == 1
    captured = capsys.readouterr()
    import json

    assert [(f["rule"], f["record_key"]) for f in json.loads(captured.out)] == [("map.dataset_unattached", "crumb_paper_forms")]
    assert "no policy.yml" in captured.err and "notice.category_not_disclosed" in captured.err


def test_an_unattached_dataset_is_drawn_in_a_column_of_its_own(tmp_path):
    from datamap.map.draw import draw_all, draw_map

    texts = [t.get_text() for t in draw_map(load_map(FIDES)).axes[0].texts]
    assert "Catering request forms\n4 categories; no system holds it" in texts
    assert "datasets no system holds" in texts
    health = [t.get_text() for t in draw_map(load_map(FIDES), "user.health_and_medical").axes[0].texts]
    assert "Catering request forms\nhealth_and_medical; no system holds it" in health
    written = draw_all(load_map(alone(tmp_path, "crumb_orders_postgres_dataset.yml")), tmp_path / "out", ["user.contact"])
    assert [p.name for p in written] == ["map.png", "map.svg", "map_user_contact.png", "map_user_contact.svg"]


def workspace_with_forms(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(WORKSPACE, ws)
    shutil.copy(FIDES / "crumb_paper_forms_manual_dataset.yml", ws / "manifests")
    return ws


def test_a_workspace_audit_reports_the_unattached_dataset_under_P13(tmp_path):
    from datamap.audit.catalogue import load_catalogue
    from datamap.audit.run import _rule_matches

    ws = workspace_with_forms(tmp_path)
    unattached = [f for f in map_findings(load_map(ws)) if f.rule == "map.dataset_unattached"]
    assert [(f.claim, f.check, f.system, f.record_key) for f in unattached] == [
        ("P13", "P13.map_datasets_attached", "crumb_paper_forms", "crumb_paper_forms")]
    keeping = [f"{claim.claim}.{check.id}" for claim in load_catalogue() for check in claim.checks
               if check.kind == "map" and _rule_matches("map.dataset_unattached", check.rules)]
    assert keeping == ["P13.map_datasets_attached"]


def test_the_map_page_lists_the_unattached_dataset_and_its_finding(tmp_path):
    from datamap.map.page import write_map_summary

    page = write_map_summary(load_map(workspace_with_forms(tmp_path)), tmp_path / "map", categories=[]).read_text(encoding="utf-8")
    assert ("## Datasets no system references\n\nThe register cannot place these: add each to the dataset_references "
            "of the system that holds it.\n\n- crumb_paper_forms (manifests/crumb_paper_forms_manual_dataset.yml): "
            "4 personal data categories\n") in page
    assert "- `map.dataset_unattached` crumb_paper_forms / crumb_paper_forms: dataset crumb_paper_forms" in page


def test_the_register_is_written_when_a_dataset_is_unattached(tmp_path):
    from datamap.register.ropa import write_register

    ws = workspace_with_forms(tmp_path)
    for fmt in ("xlsx", "html", "md"):
        path, register = write_register(ws, tmp_path / "register", fmt)
        assert path.stat().st_size > 1_000


# --- datamap evaluate: fides evaluate's semantics and wording ----------------------------------


def violation(decl: str, system: str, rule: str, where_: str, cats: list[str], uses: list[str], subjects: list[str]) -> dict:
    """One violation in Fides' own words (fides/core/evaluate.py, evaluate_policy_rule)."""
    said = f"Declaration ({decl}) of system ({system}) failed rule ({rule}) from policy (crumb_privacy_policy){where_}"
    return {"detail": f"{said}. Violated usage of data categories ({','.join(cats)}) for data uses ({','.join(uses)}) "
                      f"and subjects ({','.join(subjects)})",
            "violating_attributes": {"data_categories": cats, "data_uses": uses, "data_subjects": subjects}}


BASKET = ("Basket analysis", "crumb_analytics")
# fideslang keeps a policy's rules sorted by name; within a rule, systems and declarations in manifest order.
EXPECTED = [
    # ALL [user.behavior, user.unique_id]: both declared categories of the basket analysis are under them,
    # and so is each single-category field of the loyalty cards it references (nested fields included)
    violation(*BASKET, "Analytics only on purchase data", "", ["user.behavior.purchase_history", "user.unique_id"],
              ["analytics.reporting"], ["customer"]),
    violation(*BASKET, "Analytics only on purchase data", " for dataset field (customer_id)", ["user.unique_id"],
              ["analytics.reporting"], ["customer"]),
    violation(*BASKET, "Analytics only on purchase data", " for dataset field (favourite_bakes)",
              ["user.behavior.purchase_history"], ["analytics.reporting"], ["customer"]),
    # ANY on every dimension: e-mail is contact data, the use is marketing, customers are among the subjects;
    # the declaration references no dataset (the system's own dataset_references are not evaluated)
    violation("E-mail offers", "crumb_webshop", "No contact data for marketing", "", ["user.contact.email"],
              ["marketing.communications.email"], ["customer"]),
    # OTHER on categories: what lies outside contact, name, unique id and system data
    violation("Take and deliver orders", "crumb_webshop", "Nothing beyond contact and identity data",
              " for dataset field (card_last_four)", ["user.financial.credit_card"], ["essential.service"], ["customer"]),
    violation(*BASKET, "Nothing beyond contact and identity data", "", ["user.behavior.purchase_history"],
              ["analytics.reporting"], ["customer"]),
    violation(*BASKET, "Nothing beyond contact and identity data", " for dataset field (favourite_bakes)",
              ["user.behavior.purchase_history"], ["analytics.reporting"], ["customer"]),
    violation(*BASKET, "Nothing beyond contact and identity data", " for dataset field (birthday)",
              ["user.demographic.date_of_birth"], ["analytics.reporting"], ["customer"]),
    # NONE on uses: the e-mail offers' use is no essential service at all, and prospects are among its subjects
    violation("E-mail offers", "crumb_webshop", "Prospects' data only for the service", "",
              ["user.contact.email", "user.name.first"], ["marketing.communications.email"], ["prospect"]),
]


def test_fides_evaluate_gives_the_violations_fides_semantics_give():
    evaluation = fides_evaluate(load_map(FIDES))
    assert evaluation["violations"] == EXPECTED
    assert (evaluation["status"], evaluation["policies"], evaluation["message"]) == (
        "FAIL", ["crumb_privacy_policy", "crumb_children_policy"], "")
    assert evaluation["datasets_not_evaluated"] == ["crumb_paper_forms"]


def test_one_policy_is_evaluated_by_its_key():
    evaluation = fides_evaluate(load_map(FIDES), "crumb_children_policy", "release 4.2")
    assert evaluation == {"policies": ["crumb_children_policy"], "message": "release 4.2", "status": "PASS",
                          "violations": [], "datasets_not_evaluated": ["crumb_paper_forms"]}


@pytest.mark.parametrize(("matches", "values", "declared", "flagged"), [
    ("ANY", ["user.contact"], ["user.contact.email", "user.name"], {"user.contact.email"}),
    ("ANY", ["user.financial"], ["user.contact.email", "user.name"], set()),
    ("ALL", ["user.contact", "user.name"], ["user.contact.email", "user.name.first"], {"user.contact.email", "user.name.first"}),
    ("ALL", ["user.contact"], ["user.contact.email", "user.name"], set()),
    ("NONE", ["user.financial"], ["user.contact.email", "user.name"], {"user.contact.email", "user.name"}),
    ("NONE", ["user.name"], ["user.contact.email", "user.name"], set()),
    ("OTHER", ["user.contact"], ["user.contact.email", "user.name"], {"user.name"}),
    ("OTHER", ["user"], ["user.contact.email", "user.name"], set()),
])
def test_each_way_of_matching_flags_what_fides_documents(matches, values, declared, flagged):
    from fideslang.models import PrivacyRule

    tax = load_map(FIDES).taxonomy
    rule = PrivacyRule(matches=matches, values=values)
    assert _compare(rule, [tax.lineage("data_category", c) for c in declared]) == flagged


def test_the_fides_demo_shaped_manifests_give_the_one_documented_violation():
    evaluation = fides_evaluate(load_map(FIDES_DEMO))
    assert [v["detail"] for v in evaluation["violations"]] == [
        "Declaration (Send offers by e-mail) of system (shop_newsletter) failed rule (No contact data for marketing) "
        "from policy (shop_privacy_policy). Violated usage of data categories (user.contact.email) for data uses "
        "(marketing.communications.email) and subjects (customer)"]


@pytest.fixture
def run(capsys):
    """Run ``datamap evaluate ...`` in this process; the entry point's exit codes are proven by subprocess below."""
    from datamap.cli import main

    def call(*args: str) -> subprocess.CompletedProcess:
        capsys.readouterr()
        code = main(["evaluate", *args])
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return call


def test_cli_prints_fides_lines_and_fails_with_exit_1(run):
    out = run(str(FIDES))
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[:9] == [f"Loading resource manifests from: {FIDES}", "Taxonomy successfully created.",
                         "Evaluating the following policies:", "- crumb_privacy_policy", "- crumb_children_policy",
                         "----------", "Checking for missing resources...", "Executing Policy evaluation(s)...",
                         "{ 'message': '',"]
    assert lines[9] == "  'status': 'FAIL',"
    assert out.stdout.count("'detail': ") == 9
    assert out.stderr == "note: not evaluated, as in fides evaluate (no privacy declaration references them): crumb_paper_forms\n"


def test_cli_passes_with_exit_0(run):
    out = run(str(FIDES), "--fides-key", "crumb_children_policy")
    assert out.returncode == 0
    assert out.stdout.splitlines()[-3:] == ["Checking for missing resources...", "Executing Policy evaluation(s)...",
                                            "Evaluation passed!"]


def test_cli_json_is_the_evaluation(run):
    out = run(str(FIDES), "--json", "-m", "nightly")
    assert out.returncode == 1
    answer = json.loads(out.stdout)
    assert (answer["status"], answer["message"], answer["violations"]) == ("FAIL", "nightly", EXPECTED)


def test_cli_bad_input_is_one_line_and_exit_2(run, tmp_path):
    only_dataset = alone(tmp_path, "crumb_orders_postgres_dataset.yml")
    assert (run(str(only_dataset)).returncode, run(str(only_dataset)).stderr) == (
        2, "error: policy: the manifests hold no fideslang Policy to evaluate "
           "(fides evaluate needs at least one: add a policy resource with rules)\n")
    typo = run(str(FIDES), "-k", "crumb_childrens_policy")
    assert (typo.returncode, typo.stderr) == (2, "error: --fides-key: no policy 'crumb_childrens_policy' "
                                                 "(did you mean 'crumb_children_policy'?)\n")
    broken = tmp_path / "broken"
    shutil.copytree(FIDES, broken)
    text = (broken / "crumb_policies.yml").read_text(encoding="utf-8")
    (broken / "crumb_policies.yml").write_text(text.replace("values: [user.childrens]", "values: [user.children]"), encoding="utf-8")
    bad = run(str(broken))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: crumb_policies.yml: policy crumb_children_policy: rule No data about children: "
                                 "unknown data category 'user.children'")


def test_evaluate_needs_no_sources_or_policy_yml_and_exits_by_the_contract(tmp_path):
    bare = tmp_path / "fides_project"
    shutil.copytree(FIDES, bare)
    fail = subprocess.run([sys.executable, "-m", "datamap.cli", "evaluate", str(bare)], capture_output=True, text=True)
    passed = subprocess.run([sys.executable, "-m", "datamap.cli", "evaluate", str(bare), "-k", "crumb_children_policy"],
                            capture_output=True, text=True)
    missing = subprocess.run([sys.executable, "-m", "datamap.cli", "evaluate", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert (fail.returncode, passed.returncode, missing.returncode) == (1, 0, 2)
    assert missing.stderr.strip().count("\n") == 0 and "Traceback" not in missing.stderr


# --- Fides' own published resources (only with a checkout) ------------------------------------

CHECKOUT = os.environ.get("DATAMAP_FIDES_CHECKOUT")
needs_checkout = pytest.mark.skipif(not CHECKOUT, reason="set DATAMAP_FIDES_CHECKOUT to a checkout of github.com/ethyca/fides")


def fides_example_datasets() -> list[Path]:
    return sorted((Path(CHECKOUT or ".") / "data" / "dataset").glob("*.yml"))


@needs_checkout
def test_every_example_dataset_of_fides_loads_on_its_own_with_a_finding():
    files = fides_example_datasets()
    assert files, f"no data/dataset/*.yml under {CHECKOUT}"
    for path in files:
        keys = sorted(d["fides_key"] for d in yaml.safe_load(path.read_text(encoding="utf-8"))["dataset"])
        dm = load_map(path)
        assert unattached_datasets(dm) == keys, path.name
        assert [(f.rule, f.record_key) for f in manifest_findings(dm)] == [("map.dataset_unattached", k) for k in keys], path.name


@needs_checkout
def test_every_example_dataset_of_fides_attaches_to_a_system(tmp_path):
    for path in fides_example_datasets():
        folder = tmp_path / path.stem
        folder.mkdir()
        shutil.copy(path, folder / path.name)
        keys = [d["fides_key"] for d in yaml.safe_load(path.read_text(encoding="utf-8"))["dataset"]]
        (folder / "system.yml").write_text(yaml.safe_dump({"system": [{
            "fides_key": "connector", "system_type": "Application", "dataset_references": keys,
            "privacy_declarations": [{"name": "Privacy requests", "data_use": "essential.service", "data_subjects": ["customer"],
                                      "data_categories": ["user"], "dataset_references": keys}]}]}), encoding="utf-8")
        dm = load_map(folder)
        assert unattached_datasets(dm) == [] and manifest_findings(dm) == [], path.name


@needs_checkout
def test_fides_demo_resources_and_its_own_project_load_and_pass(tmp_path):
    for folder in ("demo_resources", ".fides"):
        dm = load_map(Path(CHECKOUT) / folder)  # type: ignore[arg-type]
        assert unattached_datasets(dm) == [], folder
        assert fides_evaluate(dm)["status"] == "PASS", folder


@needs_checkout
def test_fides_demo_with_contact_data_for_marketing_gives_the_documented_violation(tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(Path(CHECKOUT) / "demo_resources", demo)  # type: ignore[arg-type]
    system = demo / "demo_system.yml"
    text = system.read_text(encoding="utf-8")
    assert "#- user.contact" in text
    system.write_text(text.replace("#- user.contact", "- user.contact"), encoding="utf-8")  # the line the demo says to uncomment
    evaluation = fides_evaluate(load_map(demo))
    assert [v["detail"] for v in evaluation["violations"]] == [
        "Declaration (Collect data for marketing) of system (demo_marketing_system) failed rule (Reject Direct Marketing) "
        "from policy (demo_privacy_policy). Violated usage of data categories (user.contact) for data uses "
        "(marketing.advertising) and subjects (customer)"]
