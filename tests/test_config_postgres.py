"""Where the PostgreSQL connection comes from: --dsn > STOCKSDB_DSN > TIMESCALEDB_URL >
TIMESCALEDB_HOST & co > PG* > embedded (Settings.from_env only; no server needed). Expected
DSNs are written out by hand in libpq's keyword=value form."""

from __future__ import annotations

import pytest

from stocksdb.config import Settings
from stocksdb.errors import ConfigError
from stocksdb.redact import configured_secrets, redact

URL = "postgresql+psycopg://trader:ts-Secret-1@ts.example:5432/timescale"  # the seed's form
DISCRETE = {"TIMESCALEDB_HOST": "ts2.example", "TIMESCALEDB_PORT": "5433",
            "TIMESCALEDB_DB": "markets", "TIMESCALEDB_USER": "ingest",
            "TIMESCALEDB_PASSWORD": "ts-Secret-2"}
EVERY_SOURCE = {"STOCKSDB_DSN": "host=env.example", "TIMESCALEDB_URL": URL, **DISCRETE,
                "PGHOST": "pg.example", "PGUSER": "pguser"}


def origin(environ: dict[str, str], dsn: str | None = None) -> tuple[str | None, str]:
    settings = Settings.from_env(environ, dsn=dsn)
    return settings.dsn, settings.postgres_origin


def test_each_source_wins_over_every_lower_one() -> None:
    """Removing the winner each time walks the documented order down to the embedded server."""
    env = dict(EVERY_SOURCE)
    assert origin(env, dsn="host=option") == ("host=option", "--dsn")
    assert origin(env) == ("host=env.example", "STOCKSDB_DSN")
    del env["STOCKSDB_DSN"]
    assert origin(env) == ("postgresql://trader:ts-Secret-1@ts.example:5432/timescale",
                           "TIMESCALEDB_URL")
    del env["TIMESCALEDB_URL"]
    assert origin(env) == ("dbname=markets host=ts2.example port=5433 user=ingest "
                           "password=ts-Secret-2", "TIMESCALEDB_HOST")
    for name in DISCRETE:
        del env[name]
    assert origin(env) == (None, "PG*")
    del env["PGHOST"]
    assert origin(env) == (None, "embedded")


@pytest.mark.parametrize(("url", "expected"), [
    (URL, "postgresql://trader:ts-Secret-1@ts.example:5432/timescale"),
    ("postgres://u@h/d", "postgres://u@h/d"),
    ("POSTGRESQL+asyncpg://u@h/d", "postgresql://u@h/d"),
    ("postgresql://u@h/d?sslmode=verify-full", "postgresql://u@h/d?sslmode=verify-full"),
])
def test_timescaledb_url_loses_only_its_driver_suffix(url: str, expected: str) -> None:
    """A SQLAlchemy-style `+driver` is dropped and the scheme lowercased (libpq knows neither);
    the rest is kept."""
    assert Settings.from_env({"TIMESCALEDB_URL": url}).dsn == expected


def test_tls_hints_fill_what_the_url_leaves_out() -> None:
    """TIMESCALEDB_SSL* add sslmode/sslrootcert/... to a URL, but never override its own."""
    env = {"TIMESCALEDB_URL": "postgresql://u@h:5432/d?sslmode=verify-full",
           "TIMESCALEDB_SSLMODE": "require", "TIMESCALEDB_SSLROOTCERT": "/etc/ssl/root.crt"}
    assert Settings.from_env(env).dsn == ("user=u dbname=d host=h port=5432 "
                                          "sslmode=verify-full sslrootcert=/etc/ssl/root.crt")


def test_discrete_variables_with_every_tls_hint() -> None:
    """Host, port, user, password and the four TLS hints become one conninfo; the database
    defaults to PGDATABASE (else stocks_research) when TIMESCALEDB_DB is unset."""
    env = {"TIMESCALEDB_HOST": "h", "TIMESCALEDB_USER": "u", "TIMESCALEDB_PASSWORD": "it's secret",
           "TIMESCALEDB_SSLMODE": "verify-ca", "TIMESCALEDB_SSLROOTCERT": "/c/root.crt",
           "TIMESCALEDB_SSLKEY": "/c/client.key", "TIMESCALEDB_SSLCERT": "/c/client.crt"}
    assert Settings.from_env(env).dsn == (
        "dbname=stocks_research host=h user=u password='it\\'s secret' sslmode=verify-ca "
        "sslrootcert=/c/root.crt sslkey=/c/client.key sslcert=/c/client.crt")
    assert Settings.from_env({"TIMESCALEDB_HOST": "h", "PGDATABASE": "research2"}).dsn == \
        "dbname=research2 host=h"


def test_timescaledb_settings_turn_off_the_embedded_server() -> None:
    """A DSN from TIMESCALEDB_* is an external server, like STOCKSDB_DSN."""
    assert not Settings.from_env({"TIMESCALEDB_HOST": "h"}).uses_embedded_server
    assert not Settings.from_env({"TIMESCALEDB_URL": "postgresql://h/d"}).uses_embedded_server


def test_an_empty_variable_counts_as_unset() -> None:
    """`TIMESCALEDB_URL=` (exported, empty) falls through to the discrete variables."""
    env = {"STOCKSDB_DSN": "", "TIMESCALEDB_URL": "", "TIMESCALEDB_HOST": "h"}
    assert origin(env) == ("dbname=stocks_research host=h", "TIMESCALEDB_HOST")


@pytest.mark.parametrize(("environ", "message"), [
    ({"TIMESCALEDB_URL": "sqlite:///warehouse.db"},
     "TIMESCALEDB_URL is 'sqlite:///warehouse.db'; expected a postgresql:// URL "
     "(postgres:// and postgresql+psycopg:// are accepted)"),
    ({"TIMESCALEDB_URL": "mysql://u:ts-Secret-3@h/d"},
     "TIMESCALEDB_URL is 'mysql://u:***@h/d'; expected a postgresql:// URL "
     "(postgres:// and postgresql+psycopg:// are accepted)"),
    ({"TIMESCALEDB_URL": "postgresql://u:ts-Secret-4@h/d?pool=5"},
     "TIMESCALEDB_URL is 'postgresql://u:***@h/d?pool=5'; not a valid connection URL: "
     "invalid URI query parameter: \"pool\""),
    ({"TIMESCALEDB_HOST": "h", "TIMESCALEDB_PORT": "54x"},
     "TIMESCALEDB_PORT is '54x'; expected a port number 1-65535"),
    ({"TIMESCALEDB_HOST": "h", "TIMESCALEDB_PORT": "70000"},
     "TIMESCALEDB_PORT is '70000'; expected a port number 1-65535"),
    ({"TIMESCALEDB_HOST": "h", "TIMESCALEDB_SSLMODE": "strict"},
     "TIMESCALEDB_SSLMODE is 'strict'; expected one of disable, allow, prefer, require, "
     "verify-ca, verify-full"),
    ({"TIMESCALEDB_USER": "u", "TIMESCALEDB_PASSWORD": "ts-Secret-5"},
     "TIMESCALEDB_USER, TIMESCALEDB_PASSWORD are set without TIMESCALEDB_HOST or "
     "TIMESCALEDB_URL; set TIMESCALEDB_HOST (or TIMESCALEDB_URL), or unset them"),
])
def test_a_bad_timescaledb_setting_is_a_config_error_without_the_password(
        environ: dict[str, str], message: str) -> None:
    """Malformed values fail when the settings are read, naming the variable; a password in a
    URL is masked in the message."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    assert str(caught.value) == message
    assert "ts-Secret" not in str(caught.value)


def test_a_higher_source_shadows_broken_lower_ones() -> None:
    """STOCKSDB_DSN wins, so a malformed TIMESCALEDB_* below it is never read (no error)."""
    env = {"STOCKSDB_DSN": "host=h", "TIMESCALEDB_URL": "sqlite://", "TIMESCALEDB_PORT": "x"}
    assert origin(env) == ("host=h", "STOCKSDB_DSN")


@pytest.mark.parametrize("environ", [{"TIMESCALEDB_URL": URL}, DISCRETE])
def test_timescaledb_password_is_a_secret(environ: dict[str, str]) -> None:
    """The password is kept out of repr(settings) and masked in any text we print or log."""
    settings = Settings.from_env(environ)
    password = "ts-Secret-1" if "TIMESCALEDB_URL" in environ else "ts-Secret-2"
    assert password not in repr(settings)
    assert password in configured_secrets(settings)
    text = f"connection to {settings.dsn} failed"
    assert password not in redact(text, configured_secrets(settings))
