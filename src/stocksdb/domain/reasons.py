"""Stable reason codes: why a row was not loaded (Reason) and why a gate check failed
(GateReason). Two vocabularies, one enum each; a few codes are spelled alike in both (an invalid
FIGI is a rejected row, and a stored one a failed check).

Every value is documented in docs/checks.md (a test fails when one is not). Codes never change
meaning once released; new problems get new codes.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a row was not loaded."""

    # identifiers and shapes
    INVALID_FIGI = "invalid_figi"
    INVALID_SHARE_CLASS_FIGI = "invalid_share_class_figi"
    INVALID_TICKER = "invalid_ticker"
    INVALID_CIK = "invalid_cik"
    INVALID_EXCHANGE = "invalid_exchange"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_DATE = "invalid_date"
    INVALID_BOOLEAN = "invalid_boolean"
    DELIST_BEFORE_LIST = "delist_before_list"
    DUPLICATE_KEY = "duplicate_key"
    # ticker history
    EMPTY_INTERVAL = "empty_interval"
    UNKNOWN_SECURITY = "unknown_security"
    TICKER_INTERVAL_OVERLAP = "ticker_interval_overlap"
    SECURITY_TICKER_OVERLAP = "security_ticker_overlap"
    # vendor lookups (Massive REST, OpenFIGI)
    NO_START_DATE = "no_start_date"
    FIGI_NOT_FOUND = "figi_not_found"
    FIGI_LOOKUP_ERROR = "figi_lookup_error"
    # daily bars (prices_daily)
    UNPARSEABLE_VALUE = "unparseable_value"
    WINDOW_START_MISMATCH = "window_start_mismatch"
    DUPLICATE_ROW = "duplicate_row"
    DUPLICATE_TICKER = "duplicate_ticker"
    NON_POSITIVE_PRICE = "non_positive_price"
    HIGH_BELOW_LOW = "high_below_low"
    HIGH_BELOW_OPEN_OR_CLOSE = "high_below_open_or_close"
    LOW_ABOVE_OPEN_OR_CLOSE = "low_above_open_or_close"
    NEGATIVE_VOLUME = "negative_volume"
    NON_INTEGRAL_VOLUME = "non_integral_volume"
    UNKNOWN_TICKER = "unknown_ticker"
    NON_FINITE_VALUE = "non_finite_value"
    VALUE_OUT_OF_RANGE = "value_out_of_range"
    # whole day files (a failed date, recorded in job_runs, not a row)
    FILE_TOO_LARGE = "file_too_large"
    # corporate actions
    ONE_TO_ONE_SPLIT = "one_to_one_split"
    DUPLICATE_EVENT = "duplicate_event"
    NON_POSITIVE_DIVIDEND = "non_positive_dividend"
    # fundamentals (SEC companyfacts)
    MISSING_TAG = "missing_tag"
    NON_NUMERIC_VALUE = "non_numeric_value"
    UNKNOWN_UNIT = "unknown_unit"
    MALFORMED_FACT = "malformed_fact"
    CONFLICTING_VALUE = "conflicting_value"
    # macro series (FRED/ALFRED observations)
    INVERTED_REALTIME_RANGE = "inverted_realtime_range"


class GateReason(StrEnum):
    """Why a check of a phase gate failed (ingestion.gate_results.reason_code)."""

    # schema and reference data
    SCHEMA_NOT_LATEST = "schema_not_latest"
    NO_SECURITIES = "no_securities"
    INVALID_FIGI = "invalid_figi"
    NO_TICKER_HISTORY = "no_ticker_history"
    TICKER_INTERVAL_OVERLAP = "ticker_interval_overlap"
    SECURITY_TICKER_OVERLAP = "security_ticker_overlap"
    ORPHAN_ROWS = "orphan_rows"
    # prices_daily coverage
    LOW_DATE_COVERAGE = "low_date_coverage"
    LOW_SECURITY_COVERAGE = "low_security_coverage"
    # prices_daily false ticks (a warning, never a refusal)
    FALSE_TICK = "false_tick"
    # corporate actions and adjustment factors
    NON_POSITIVE_RATIO = "non_positive_ratio"
    MISSING_PREVIOUS_CLOSE = "missing_previous_close"
    DIVIDEND_NOT_BELOW_CLOSE = "dividend_not_below_close"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    NO_PRICES = "no_prices"
    MISSING_EXDATE_CLOSE = "missing_exdate_close"
    FACTORS_NOT_REPRODUCIBLE = "factors_not_reproducible"
    ADJUSTED_JUMP_AT_EVENT = "adjusted_jump_at_event"
    # cross-section copies
    CROSS_SECTION_MISMATCH = "cross_section_mismatch"
    # trading sessions
    NOT_A_SESSION = "not_a_session"
    SESSION_WITHOUT_DAY_FILE = "session_without_day_file"
    # fundamentals
    NO_CIK = "no_cik"
    NO_RAW_FUNDAMENTALS = "no_raw_fundamentals"
    RAW_PERIOD_NOT_DERIVED = "raw_period_not_derived"
    MISSING_YOY = "missing_yoy"
    # macro series
    OVERLAPPING_VINTAGES = "overlapping_vintages"
