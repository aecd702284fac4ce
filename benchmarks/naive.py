"""The naive reference: load each table whole into pandas and validate it with Great Expectations'
pandas data source (``context.data_sources.add_pandas``, one dataframe asset per table).

A representative subset of the catalogue, written the way a pandas user would:

- P05 ``retention.expired``: every rule of ``policy.yml`` retention; ``kept_until`` computed in
  pandas (calendar periods, fiscal-year anchor), ``ExpectColumnValuesToBeBetween(min_value=as_of)``;
- P04 ``consent.missing`` and ``consent.opt_out_ignored``: sends merged with subscribers,
  ``ExpectColumnValuesToNotBeNull`` and ``ExpectColumnPairValuesAToBeGreaterThanB``;
- P06 ``quality.contract_without_customer_name``: ``ExpectColumnValuesToNotBeNull`` with a row condition;
- P08 ``rights.erasure_incomplete``: every table with an e-mail column against the completed erasure
  requests, ``ExpectColumnValuesToNotBeInSet`` (without the legal-duty restriction, so invoices and
  payments kept under the fiscal duty are reported too);
- P11 ``quality.plaintext_credentials``: ``ExpectColumnValuesToMatchRegexList``;
- P14 ``quality.duplicate_customer_number`` (portal): ``ExpectColumnValuesToBeUnique``;
- P15 ``cookies.third_party_without_trial_click``: row condition ``party == 'third'``.

Tables are read whole (``pd.read_csv`` of the export, ``pd.read_sql`` of the portal table) with the
workspace's own knowledge of encodings, delimiters and date formats, one claim at a time, and
released after it (kinder to memory than keeping every table, as a notebook would).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

HASH_PREFIXES = [r"^\$2a\$", r"^\$2b\$", r"^\$2y\$", r"^\$argon2id\$", r"^\$argon2i\$", r"^pbkdf2_sha256\$"]


class Naive:
    """Whole-table pandas frames validated with GE's pandas data source; findings as (rule, system, key)."""

    def __init__(self, workspace: Path):
        import great_expectations as gx

        from datamap.workspace import load_workspace

        self.gx = gx
        self.ws = load_workspace(workspace)
        self.context = gx.get_context(mode="ephemeral")
        self.source = self.context.data_sources.add_pandas("naive")
        self.findings: set[tuple[str, str, str]] = set()
        self.rows = 0
        self.expectations = 0
        self._assets = 0

    # --- loading whole tables ---------------------------------------------------------------

    def load(self, dataset: str, collection: str) -> "Any":
        """The whole table as a DataFrame: snake_case columns, blanks as missing, dates parsed."""
        import pandas as pd

        from datamap.sources import date_part, resolve, snake
        from datamap.sources.exports import detect_delimiter, detect_encoding, first_line

        src = resolve(self.ws, dataset, collection)
        if src.is_sql:
            from sqlalchemy import create_engine

            from datamap.sources.sql import readonly_url

            engine = create_engine(readonly_url(src.config.url or "", src.root))
            try:
                frame = pd.read_sql(f'SELECT * FROM "{src.table}"', engine)
            finally:
                engine.dispose()
        else:
            (path,) = src.files()
            encoding = detect_encoding(path) if src.source.encoding == "auto" else src.source.encoding
            delimiter = detect_delimiter(first_line(path, encoding), path.suffix) if src.source.delimiter == "auto" \
                else src.source.delimiter
            frame = pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str)
            frame.columns = [snake(c.lstrip("\ufeff")) for c in frame.columns]
        for column, kind in src.fmt.date_columns().items():
            if column in frame.columns:
                fmt = src.date_format if kind != "date" else date_part(src.date_format)
                frame[column] = pd.to_datetime(frame[column], format=fmt, errors="coerce")
        for header in src.fmt.ids:
            column = snake(header)
            if column in frame.columns:
                frame[column] = frame[column].str.removeprefix("zcrm_")
        self.rows += len(frame)
        return frame

    # --- validating ------------------------------------------------------------------------

    def validate(self, frame: Any, expectation: Any, rule: str, system: str, key: str) -> None:
        """Validate one expectation on a whole frame; every unexpected row becomes a finding."""
        self._assets += 1
        asset = self.source.add_dataframe_asset(name=f"t{self._assets}")
        batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(expectation, result_format={"result_format": "COMPLETE",
                                                            "unexpected_index_column_names": [key]})
        self.expectations += 1
        for item in result.result.get("unexpected_index_list") or []:
            value = item[key] if isinstance(item, dict) else item
            self.findings.add((rule, system, str(value)))

    # --- the checks -------------------------------------------------------------------------

    def retention(self) -> None:
        import pandas as pd

        from datamap.sources import collection_format
        from datamap.workspace import parse_duration

        as_of = pd.Timestamp(self.ws.policy.reference_date())
        month, day = (int(p) for p in self.ws.policy.fiscal_year_end.split("-"))
        for rule in self.ws.policy.retention:
            frame = self.load(rule.system, rule.collection)
            key = collection_format(self.ws.sources.datasets[rule.system].product, rule.collection).key_column or "_row"
            dates = frame[rule.date_column].dt.normalize()
            if rule.anchor == "fiscal_year_end":
                end = pd.to_datetime(dict(year=dates.dt.year, month=month, day=day), errors="coerce")
                dates = end.where(dates <= end, end + pd.DateOffset(years=1))
            delta = parse_duration(rule.period)
            offset = pd.DateOffset(years=delta.years, months=delta.months, days=delta.days)
            frame["kept_until"] = dates + offset
            self.validate(frame, self.gx.expectations.ExpectColumnValuesToBeBetween(column="kept_until", min_value=as_of),
                          "retention.expired", rule.system, key)
            del frame

    def consent(self) -> None:
        sends = self.load("zoho_campaigns", "sends")
        subscribers = self.load("zoho_campaigns", "subscribers")
        merged = sends.merge(subscribers, on="subscriber_id", how="left", suffixes=("", "_subscriber"))
        E = self.gx.expectations
        for expectation in (E.ExpectColumnValuesToNotBeNull(column="consent_type"),
                            E.ExpectColumnValuesToNotBeNull(column="consent_date"),
                            E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="sent_time", column_B="consent_date",
                                                                       or_equal=True, ignore_row_if="either_value_is_missing")):
            self.validate(merged, expectation, "consent.missing", "zoho_campaigns", "send_id")
        self.validate(merged, E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="unsubscribed_time", column_B="sent_time", or_equal=True, ignore_row_if="either_value_is_missing"),
            "consent.opt_out_ignored", "zoho_campaigns", "send_id")

    def deals(self) -> None:
        from great_expectations.expectations.row_conditions import Column

        deals = self.load("zoho_crm", "deals")
        condition = (Column("stage") != "Closed Lost") & Column("account_name").is_null()
        self.validate(deals, self.gx.expectations.ExpectColumnValuesToNotBeNull(column="contact_name", row_condition=condition),
                      "quality.contract_without_customer_name", "zoho_crm", "record_id")

    def erasure(self) -> None:
        from datamap.sources import collection_format, collections

        requests = self.load("governance", "privacy_requests")
        done = requests[(requests["type"].str.lower() == "erasure") & requests["completed"].notna()]
        erased = sorted(set(done["subject_email"].str.strip().str.lower()))
        for dataset, collection in collections(self.ws):
            fmt = collection_format(self.ws.sources.datasets[dataset].product, collection)
            emails = [c for c, kind in fmt.identifier_columns().items() if kind == "email"]
            if not emails or fmt.format == "mbox" or dataset in ("governance", "hr") or collection.endswith("users"):
                continue
            frame = self.load(dataset, collection)
            key = fmt.key_column if fmt.key_column in frame.columns else frame.columns[0]
            for column in emails:
                if column in frame.columns:
                    frame["norm"] = frame[column].str.strip().str.lower()
                    self.validate(frame, self.gx.expectations.ExpectColumnValuesToNotBeInSet(column="norm", value_set=erased),
                                  "rights.erasure_incomplete", dataset, key)
            del frame

    def portal(self) -> None:
        from great_expectations.expectations.row_conditions import Column

        E = self.gx.expectations
        accounts = self.load("customer_portal", "accounts")
        self.validate(accounts, E.ExpectColumnValuesToMatchRegexList(column="password_hash", regex_list=HASH_PREFIXES,
                                                                     match_on="any"),
                      "quality.plaintext_credentials", "customer_portal", "account_id")
        self.validate(accounts, E.ExpectColumnValuesToBeUnique(column="customer_number"),
                      "quality.duplicate_customer_number", "customer_portal", "account_id")
        del accounts
        cookies = self.load("customer_portal", "cookie_log")
        third = Column("party") == "third"
        self.validate(cookies, E.ExpectColumnValuesToNotBeNull(column="trial_click_at", row_condition=third),
                      "cookies.third_party_without_trial_click", "customer_portal", "entry_id")
        self.validate(cookies, E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="set_at", column_B="trial_click_at", or_equal=True, ignore_row_if="either_value_is_missing",
            row_condition=third), "cookies.third_party_without_trial_click", "customer_portal", "entry_id")


RULES = ("retention.expired", "consent.missing", "consent.opt_out_ignored", "quality.contract_without_customer_name",
         "rights.erasure_incomplete", "quality.plaintext_credentials", "quality.duplicate_customer_number",
         "cookies.third_party_without_trial_click")


def run_naive(workspace: Path, audit_findings: Path | None = None) -> dict[str, Any]:
    """Run the subset; compare its findings with the audit's for the same rules when a run is at hand."""
    warnings.simplefilter("ignore")
    naive = Naive(workspace)
    for step in (naive.retention, naive.consent, naive.deals, naive.erasure, naive.portal):
        step()
    info: dict[str, Any] = {"rules": list(RULES), "expectations": naive.expectations, "rows_loaded": naive.rows,
                            "findings": len(naive.findings)}
    if audit_findings is not None and audit_findings.is_file():
        audit = {(f["rule"], f["system"], str(f["record_key"])) for f in json.loads(audit_findings.read_text(encoding="utf-8"))
                 if f["rule"] in RULES and not (f["rule"] == "quality.duplicate_customer_number" and f["system"] != "customer_portal")}
        info["audit_findings_same_rules"] = len(audit)
        info["audit_findings_also_found"] = len(audit & naive.findings)
    info["summary"] = (f"{naive.expectations} expectations over {naive.rows:,} rows loaded whole, {len(naive.findings)} findings"
                       + (f"; {info['audit_findings_also_found']}/{info['audit_findings_same_rules']} of the audit's findings "
                          "for these rules also found" if "audit_findings_same_rules" in info else ""))
    return info

