"""Generate the shipped sessions.json and holidays.json from exchange_calendars.

In:  the exchange_calendars calendars of EXCHANGES over FIRST_DATE..LAST_DATE.
Out: the two documents (`render_sessions`, `render_holidays`); run
     `python -m stocksdb.foundation.reference_build [DIR]` to rewrite them (default: the
     package's config/reference/). tests/foundation/test_reference.py fails when the shipped
     files no longer match what the installed exchange_calendars says.

A holiday is a weekday of the exchange's week on which it holds no session; its name is the
calendar's name for the rule, or "ad hoc closure" (e.g. 2025-01-09, the national day of
mourning for President Carter). An early close is a session that closes before the regular
close; its `close` is the local time it closed at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

EXCHANGES = ("XNYS", "XNAS", "ARCX")
FIRST_DATE = date(1990, 1, 1)
LAST_DATE = date(2027, 12, 31)


def _calendar(exchange: str) -> Any:
    import exchange_calendars as xcals

    return xcals.get_calendar(exchange, start=FIRST_DATE.isoformat(),
                              end=LAST_DATE.isoformat())


def _generated_by() -> str:
    import exchange_calendars as xcals

    return (f"exchange_calendars {xcals.__version__}; regenerate with "
            "`python -m stocksdb.foundation.reference_build`")


def session_records() -> list[dict[str, Any]]:
    """One record per exchange: its calendar, time zone and regular hours."""
    out = []
    for exchange in EXCHANGES:
        cal = _calendar(exchange)
        early = cal.regular_early_close
        out.append({"exchange": exchange, "calendar": cal.name, "timezone": str(cal.tz),
                    "open": f"{cal.open_times[-1][1]:%H:%M}",
                    "close": f"{cal.close_times[-1][1]:%H:%M}",
                    "early_close": f"{early:%H:%M}" if early is not None else None,
                    "weekmask": cal.weekmask})
    return out


def _names(holiday_calendar: Any) -> dict[date, str]:
    import pandas as pd

    found = holiday_calendar.holidays(pd.Timestamp(FIRST_DATE), pd.Timestamp(LAST_DATE),
                                      return_name=True)
    names: dict[date, str] = {}
    for ts, name in found.items():
        names.setdefault(ts.date(), str(name))
    return names


def _weekdays(weekmask: str) -> Iterator[date]:
    day = FIRST_DATE
    while day <= LAST_DATE:
        if weekmask[day.weekday()] == "1":
            yield day
        day += timedelta(days=1)


def holiday_records() -> list[dict[str, Any]]:
    """Every closed weekday and early close of every exchange, by exchange then date."""
    out: list[dict[str, Any]] = []
    for exchange in EXCHANGES:
        cal = _calendar(exchange)
        sessions = {ts.date() for ts in cal.sessions}
        names = _names(cal.regular_holidays) if cal.regular_holidays is not None else {}
        early_names: dict[date, str] = {}
        for _, special in cal.special_closes:
            early_names.update(_names(special))
        closes = {ts.date(): ts for ts in cal.schedule["close"]}
        early = {ts.date() for ts in cal.early_closes}
        for day in _weekdays(cal.weekmask):
            if day not in sessions:
                out.append({"exchange": exchange, "date": day.isoformat(), "kind": "closed",
                            "name": names.get(day, "ad hoc closure")})
            elif day in early:
                local = closes[day].tz_convert(cal.tz)
                out.append({"exchange": exchange, "date": day.isoformat(),
                            "kind": "early_close", "close": f"{local:%H:%M}",
                            "name": early_names.get(day, "ad hoc early close")})
    return out


def _document(header: dict[str, Any], key: str, records: list[dict[str, Any]]) -> str:
    """JSON with one record per line, so a reader's error names a useful line."""
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    lines.append(f"  {json.dumps(key)}: [")
    lines += [f"    {json.dumps(r, ensure_ascii=False)}" + ("," if i < len(records) - 1 else "")
              for i, r in enumerate(records)]
    return "\n".join([*lines, "  ]", "}"]) + "\n"


def render_sessions() -> str:
    """The text of sessions.json."""
    return _document({"generated_by": _generated_by()}, "exchanges", session_records())


def render_holidays() -> str:
    """The text of holidays.json."""
    return _document({"generated_by": _generated_by(), "first_date": FIRST_DATE.isoformat(),
                      "last_date": LAST_DATE.isoformat()}, "holidays", holiday_records())


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), required=False)
def main(directory: Path | None) -> None:
    """Rewrite sessions.json and holidays.json in DIRECTORY (default: the package's)."""
    from stocksdb.foundation.reference import DEFAULT_DIR

    target = directory or DEFAULT_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, text in (("sessions.json", render_sessions()),
                       ("holidays.json", render_holidays())):
        tmp = target / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target / name)
        click.echo(f"wrote {target / name}")


if __name__ == "__main__":
    main()
