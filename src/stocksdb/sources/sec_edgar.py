"""SEC EDGAR XBRL companyfacts: one document of every fact a filer reported, per CIK.

In:  CIKs; Settings.sec_user_agent (required by the SEC: a descriptive User-Agent with a
     contact e-mail, checked before any request); base URLs as keyword arguments.
Out: `CompanyFacts` documents, and `parse_company_facts` turning one into `RawPeriod`s (one per
     accession and start/end period, all tags) plus problems (rejected facts with reasons).
Talks to: GET {www}/files/company_tickers.json (ticker -> CIK) and
     GET {data}/api/xbrl/companyfacts/CIK##########.json, at most 10 requests per second,
     retrying 429/5xx with backoff (HttpClient). The `files` layout is
     DIR/fundamentals/companyfacts/CIK##########.json (reference/formats.md section 7).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.domain.fundamentals import EPS_TAGS, METRIC_UNITS, REVENUE_TAGS, RawPeriod
from stocksdb.domain.identifiers import format_cik
from stocksdb.domain.reasons import Reason
from stocksdb.errors import InputFileError, MissingCredentialError
from stocksdb.sources.http import Clock, HttpClient, RateLimit, Sleep

log = logging.getLogger(__name__)

VENDOR = "sec"
DATA_URL = "https://data.sec.gov"
WWW_URL = "https://www.sec.gov"
TICKERS_PATH = "/files/company_tickers.json"
FACTS_PATH = "/api/xbrl/companyfacts/CIK{cik}.json"
FILES_DIR = Path("fundamentals", "companyfacts")
RATE = RateLimit(calls=10, per_seconds=1.0)
FISCAL_PERIODS = frozenset({"FY", "Q1", "Q2", "Q3", "Q4"})
_FILE_RE = re.compile(r"^CIK(\d{10})\.json$")

Problem = tuple[Reason, str, dict[str, Any]]     # (reason, detail, raw fact)


@dataclass(frozen=True)
class CompanyFacts:
    """One companyfacts document and where it came from."""

    cik: str                      # 10-digit zero-padded
    payload: dict[str, Any]
    source_key: str               # URL or file path


def require_user_agent(settings: Settings) -> str:
    """The configured SEC User-Agent.

    Raises:
        MissingCredentialError: none is configured (the SEC refuses anonymous clients)."""
    agent = (settings.sec_user_agent or "").strip()
    if not agent:
        raise MissingCredentialError(
            "source 'sec' needs Settings.sec_user_agent (the SEC requires a descriptive "
            "User-Agent with a contact e-mail); set STOCKSDB_SEC_USER_AGENT, e.g. "
            "'Example Research jane@example.com'")
    return agent


def sec_http(settings: Settings, base_url: str, *, clock: Clock = time.monotonic,
             sleep: Sleep = time.sleep) -> HttpClient:
    """An HttpClient for one SEC host with our User-Agent and the 10 requests/s cap."""
    return HttpClient(VENDOR, base_url, headers={"User-Agent": require_user_agent(settings)},
                      rate_limit=RATE, clock=clock, sleep=sleep)


def fetch_company_tickers(settings: Settings, *, www_url: str = WWW_URL,
                          clock: Clock = time.monotonic, sleep: Sleep = time.sleep
                          ) -> dict[str, str]:
    """{ticker: 10-digit CIK} from company_tickers.json."""
    with sec_http(settings, www_url, clock=clock, sleep=sleep) as http:
        body = http.get_json(TICKERS_PATH)
    rows = body.values() if isinstance(body, dict) else ()
    return {str(r["ticker"]).upper(): format_cik(r["cik_str"]) for r in rows
            if isinstance(r, dict) and "ticker" in r and "cik_str" in r}


def fetch_company_facts(settings: Settings, ciks: Iterable[str | int], *, data_url: str = DATA_URL,
                        clock: Clock = time.monotonic, sleep: Sleep = time.sleep
                        ) -> Iterator[CompanyFacts]:
    """companyfacts of each CIK (404s are logged and skipped). The User-Agent is checked here,
    before the first request.

    Raises:
        MissingCredentialError: no Settings.sec_user_agent."""
    http = sec_http(settings, data_url, clock=clock, sleep=sleep)
    return _iter_facts(http, [format_cik(c) for c in ciks])


def _iter_facts(http: HttpClient, ciks: list[str]) -> Iterator[CompanyFacts]:
    with http:
        for cik in ciks:
            path = FACTS_PATH.format(cik=cik)
            payload = http.get_json_or_none(path)
            if payload is None:
                log.warning("sec has no companyfacts for cik %s (404); skipped", cik)
                continue
            yield CompanyFacts(cik, payload, http.url(path))


def read_company_facts(root: Path) -> Iterator[CompanyFacts]:
    """Documents under DIR/fundamentals/companyfacts/, in CIK order.

    Raises:
        InputFileError: the folder is missing or a file is not JSON."""
    folder = root / FILES_DIR
    if not folder.is_dir():
        raise InputFileError(f"folder {str(folder)!r} does not exist; expected "
                             "DIR/fundamentals/companyfacts/CIK##########.json files")
    for path in sorted(folder.iterdir()):
        match = _FILE_RE.match(path.name)
        if not match:
            continue
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputFileError(f"file {str(path)!r} is not readable JSON ({exc}); expected a "
                                 "companyfacts document") from exc
        yield CompanyFacts(match.group(1), payload, str(path))


def parse_company_facts(payload: dict[str, Any]) -> tuple[list[RawPeriod], list[Problem]]:
    """Group every fact by (accession, start, end); instants get start == end. Metric facts
    with a non-numeric value or a wrong unit, and malformed facts, become problems."""
    groups: dict[tuple[str, date, date], tuple[RawPeriod, dict[str, Any]]] = {}
    problems: list[Problem] = []
    for taxonomy, tag, unit, fact in _facts(payload):
        problem = _check(tag, unit, fact)
        if problem is None:
            problem = _add(groups, taxonomy, tag, unit, fact)
        if problem is not None:
            raw = {"taxonomy": taxonomy, "tag": tag, "unit": unit, **fact}
            problems.append((problem[0], problem[1], raw))
    problems += _missing_tags(payload)
    return [period for period, _ in groups.values()], problems


def _facts(payload: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    facts = payload.get("facts") if isinstance(payload, dict) else None
    for taxonomy, tags in (facts or {}).items():
        for tag, concept in (tags or {}).items():
            units = concept.get("units") if isinstance(concept, dict) else None
            for unit, rows in (units or {}).items():
                for fact in rows or ():
                    if isinstance(fact, dict):
                        yield taxonomy, tag, unit, fact


def _check(tag: str, unit: str, fact: dict[str, Any]) -> tuple[Reason, str] | None:
    value = fact.get("val")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Reason.NON_NUMERIC_VALUE, f"{tag} value {value!r} is not a number"
    expected = METRIC_UNITS.get(tag)
    if expected is not None and unit != expected:
        return Reason.UNKNOWN_UNIT, f"{tag} unit {unit!r} is not the expected {expected!r}"
    missing = [k for k in ("end", "accn", "form", "filed") if not fact.get(k)]
    if missing:
        return Reason.MALFORMED_FACT, f"{tag} fact lacks {', '.join(missing)}"
    return None


def _add(groups: dict[tuple[str, date, date], tuple[RawPeriod, dict[str, Any]]],
         taxonomy: str, tag: str, unit: str,
         fact: dict[str, Any]) -> tuple[Reason, str] | None:
    try:
        end = date.fromisoformat(fact["end"])
        start = date.fromisoformat(fact["start"]) if fact.get("start") else end
        filed = date.fromisoformat(fact["filed"])
    except (TypeError, ValueError):
        return Reason.MALFORMED_FACT, f"{tag} fact has an unparseable start, end or filed date"
    if start > end:
        return Reason.MALFORMED_FACT, f"{tag} fact starts {start} after it ends {end}"
    key = (str(fact["accn"]), start, end)
    if key not in groups:
        fy, fp = fact.get("fy"), fact.get("fp")
        period = RawPeriod(key[0], start, end, fy if isinstance(fy, int) else None,
                           fp if fp in FISCAL_PERIODS else None, str(fact["form"]), filed, {})
        groups[key] = (period, period.payload)
    units = groups[key][1].setdefault(taxonomy, {}).setdefault(tag, {})
    if unit in units and units[unit] != fact["val"]:
        return Reason.CONFLICTING_VALUE, (f"{tag} {unit} for {start}..{end} in {key[0]} is both "
                                   f"{units[unit]!r} and {fact['val']!r}; kept the first")
    units[unit] = fact["val"]
    return None


def _missing_tags(payload: dict[str, Any]) -> list[Problem]:
    facts = payload.get("facts") if isinstance(payload, dict) else None
    gaap = (facts or {}).get("us-gaap") or {}
    out: list[Problem] = []
    for metric, tags in (("revenue", REVENUE_TAGS), ("diluted EPS", EPS_TAGS)):
        if not any(t in gaap for t in tags):
            out.append((Reason.MISSING_TAG, f"no {metric} tag (expected one of {', '.join(tags)}); "
                        f"its quarters get no {metric}", {"cik": payload.get("cik")}))
    return out
