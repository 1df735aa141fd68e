"""Where the hard cases go: which security plays which role, on which session.

In:  a numpy Generator, which securities are common stock, and the number of sessions.
Out: a `Scenario` of session indices (0 = first session of the range) and security indices
     (positions in the universe arrays). Everything else in the sample derives from it.

Single hard cases sit at fixed fractions of the range so they never collide; the background
(IPOs, delistings, extra splits, dividend payers) scales with the number of securities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Hard cases played by one security each, and where in the range (fraction of the sessions)
# the event happens. `reused_first` delists on its day; `reused_second` lists REUSE_GAP
# sessions later under the same ticker.
ROLE_DAY_FRACTIONS: dict[str, float] = {
    "quarterly_dividend": 0.10,
    "duplicate_row": 0.20,
    "bad_bar": 0.25,
    "reused_first": 0.30,
    "forward_split": 0.35,
    "renamed": 0.45,
    "split_and_dividend": 0.50,
    "halted": 0.55,
    "special_dividend": 0.60,
    "reverse_split": 0.65,
    "wrong_window_start": 0.70,
}
# Sessions whose day file carries a row for a ticker that names nothing.
UNKNOWN_TICKER_FRACTIONS = (0.15, 0.80)
REUSE_GAP = 3                  # sessions in which the reused ticker names nothing
DIVIDEND_EVERY = 63            # sessions between quarterly ex-dates
DIVIDEND_PAYER_SHARE = 0.25    # share of the plain common stocks that pay quarterly
MIN_SESSIONS = 40              # fewer cannot hold every hard case apart


@dataclass(frozen=True)
class Event:
    """Security `security` (universe index) is involved in something on session `day`."""

    security: int
    day: int


@dataclass(frozen=True)
class Scenario:
    """The cast and the timetable of the synthetic market."""

    n_sessions: int
    roles: dict[str, Event]            # keys of ROLE_DAY_FRACTIONS plus "reused_second"
    ipos: tuple[Event, ...]            # day = list session (includes reused_second)
    delistings: tuple[Event, ...]      # day = first session without a row (incl. reused_first)
    extra_splits: tuple[Event, ...]    # background forward splits
    payers: tuple[Event, ...]          # quarterly payers; day = first ex-date session
    unknown_ticker_days: tuple[int, ...]
    fiscal_january: int                # company whose fiscal year ends 31 January
    restated: int                      # company with a restated quarter
    fundamentals: tuple[int, ...]      # every company with companyfacts, sorted

    def payer_days(self, payer: Event) -> range:
        """Sessions on which `payer` goes ex-dividend."""
        return range(payer.day, self.n_sessions, DIVIDEND_EVERY)


def role_day(fraction: float, n_sessions: int) -> int:
    """Session index for a fraction of the range, kept off the first and last two sessions."""
    return min(max(int(fraction * (n_sessions - 1)), 2), n_sessions - 3)


def pick_scenario(rng: np.random.Generator, is_cs: np.ndarray, n_sessions: int) -> Scenario:
    """Cast the roles among the common stocks of the universe."""
    n = len(is_cs)
    cast = [int(i) for i in rng.permutation(np.flatnonzero(is_cs))]
    roles = {name: Event(cast.pop(), role_day(f, n_sessions))
             for name, f in ROLE_DAY_FRACTIONS.items()}
    first = roles["reused_first"]
    roles["reused_second"] = Event(cast.pop(), first.day + REUSE_GAP)
    background = max(2, n // 100)
    ipos = _background(rng, cast, background, n_sessions) + (roles["reused_second"],)
    delistings = _background(rng, cast, background, n_sessions) + (first,)
    extra_splits = _background(rng, cast, n // 300, n_sessions)
    plain = sorted(cast)
    payers = _pick_payers(rng, plain, (roles["quarterly_dividend"], roles["split_and_dividend"]))
    n_companies = min(len(plain), max(20, n // 10))
    companies = [int(i) for i in rng.choice(plain, size=n_companies, replace=False)]
    return Scenario(
        n_sessions=n_sessions, roles=roles, ipos=ipos, delistings=delistings,
        extra_splits=extra_splits, payers=payers,
        unknown_ticker_days=tuple(role_day(f, n_sessions) for f in UNKNOWN_TICKER_FRACTIONS),
        fiscal_january=companies[0],
        restated=companies[1], fundamentals=tuple(sorted(companies)),
    )


def _background(
    rng: np.random.Generator, cast: list[int], count: int, n_sessions: int
) -> tuple[Event, ...]:
    """`count` securities taken from `cast`, each on a day in the middle 80% of the range."""
    low, high = int(0.1 * n_sessions), int(0.9 * n_sessions)
    days = rng.integers(low, high, size=count)
    return tuple(Event(cast.pop(), int(d)) for d in days)


def _pick_payers(
    rng: np.random.Generator, plain: list[int], roles: tuple[Event, ...]
) -> tuple[Event, ...]:
    """Quarterly payers with their first ex-date, plus the role payers on their role day.

    A role payer's schedule goes through its role day: the quarterly_dividend example goes
    ex early in the range, the split_and_dividend one goes ex on its split session.
    """
    count = max(1, int(DIVIDEND_PAYER_SHARE * len(plain)))
    chosen = sorted(int(i) for i in rng.choice(plain, size=count, replace=False))
    offsets = rng.integers(1, DIVIDEND_EVERY + 1, size=count)
    payers = [Event(i, int(o)) for i, o in zip(chosen, offsets, strict=True)]
    payers += [Event(role.security, (role.day - 1) % DIVIDEND_EVERY + 1) for role in roles]
    return tuple(sorted(payers, key=lambda e: e.security))
