"""Entry point of `stocksdb sample`: write a deterministic synthetic market to a directory.

In:  a target directory and the options (number of securities, date range, seed).
Out: the SPEC section 12 layout under the directory, written into a hidden sibling first and
     renamed into place at the end, plus manifest.json; returns the `SampleManifest`.

    reference/securities.csv, reference/ticker_history.csv
    flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz   one per XNYS session
    corporate_actions/splits.json, corporate_actions/dividends.json
    fundamentals/companyfacts/CIK##########.json
    macro/observations/<ID>.json, macro/series/<ID>.json, macro/release_dates.json
    manifest.json

The same options give byte-identical files. Random streams are independent children of
`SeedSequence(seed)` fed to PCG64: universe, prices, fundamentals.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from stocksdb.errors import InputError
from stocksdb.sample.actions import dividends_payload, splits_payload
from stocksdb.sample.fundamentals import (
    YEARS_BEFORE_START,
    build_models,
    companyfacts,
    restatement_case,
)
from stocksdb.sample.macro import write_macro
from stocksdb.sample.manifest import MANIFEST_NAME, SampleManifest, build_cases
from stocksdb.sample.market import write_market
from stocksdb.sample.options import SampleOptions, parse_options
from stocksdb.sample.universe import Universe, build_universe
from stocksdb.sample.writer import write_json, write_reference

SPLITS_PATH = Path("corporate_actions", "splits.json")
DIVIDENDS_PATH = Path("corporate_actions", "dividends.json")
COMPANYFACTS_DIR = Path("fundamentals", "companyfacts")


def generate_sample(
    out_dir: Path,
    *,
    securities: int = 300,
    start: date = date(2023, 1, 3),
    end: date = date(2024, 12, 31),
    seed: int = 7,
) -> SampleManifest:
    """Write the synthetic market for the options to `out_dir` (new or empty).

    Raises:
        InputError: if an option is nonsense (fewer than 50 securities, `end` before `start`,
            too short a range, a negative seed) or `out_dir` is a non-empty directory or a file.
        DateOutOfRangeError: if the range leaves the XNYS calendar's sessions.
    """
    options = parse_options(securities=securities, start=start, end=end, seed=seed)
    target = Path(out_dir).resolve()   # '.' or 'x/..' have no usable name or parent
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                    dir=target.parent))
    try:
        staging.chmod(0o755)
        manifest = _write_sample(staging, options)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return replace(manifest, out_dir=Path(out_dir))


def _check_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(
            f"sample directory {str(target)!r} exists and is not an empty directory; "
            "pass a new or empty directory (the sample never overwrites files)"
        )


def _write_sample(root: Path, options: SampleOptions) -> SampleManifest:
    sessions, seed = options.sessions, options.seed
    universe_rng, price_rng, facts_rng = (
        np.random.Generator(np.random.PCG64(child))
        for child in np.random.SeedSequence(seed).spawn(3)
    )
    universe = build_universe(universe_rng, options.securities, sessions)
    n_securities, n_history = write_reference(root, universe)
    log = write_market(root, universe, price_rng)
    write_json(root / SPLITS_PATH, splits_payload(log.splits, sessions, seed))
    write_json(root / DIVIDENDS_PATH, dividends_payload(log.dividends, sessions, seed))
    n_companies, restatement = _write_fundamentals(root, universe, facts_rng, options.end)
    n_macro, macro = write_macro(root, options.start, options.end)
    counts = {
        "securities": n_securities, "ticker_history": n_history, "sessions": len(sessions),
        "day_files": log.files, "rows": log.rows, "splits": len(log.splits),
        "dividends": len(log.dividends), "companyfacts": n_companies, "macro_files": n_macro,
        "files": 2 + log.files + 2 + n_companies + n_macro,
    }
    cases = {**build_cases(universe, log, restatement), "macro": macro}
    manifest = SampleManifest(root, options.to_dict(), counts, cases)
    write_json(root / MANIFEST_NAME, manifest.to_dict(), pretty=True)
    return manifest


def _write_fundamentals(
    root: Path, universe: Universe, rng: np.random.Generator, last_filed: date
) -> tuple[int, dict[str, Any]]:
    """Write one companyfacts file per filer (filings up to `last_filed`).

    Returns the number of files and the restatement case of the manifest.
    """
    first_fy = universe.sessions[0].year - YEARS_BEFORE_START - 1
    models = build_models(rng, universe, first_fy, last_filed.year + 1)
    restatement: dict[str, Any] = {}
    for model in models:
        document = companyfacts(model, last_filed)
        write_json(root / COMPANYFACTS_DIR / f"CIK{model.cik:010d}.json", document)
        if model.restatement is not None:
            restatement = restatement_case(model, document)
    return len(models), restatement
