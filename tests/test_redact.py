"""redact(): one function masks every secret shape we have seen vendors and drivers echo."""

from __future__ import annotations

import logging

import pytest

from stocksdb.config import Settings
from stocksdb.redact import RedactingFilter, configured_secrets, redact


@pytest.mark.parametrize(("text", "expected"), [
    ("openfigi said: bad key SEKRET-figi-42", "openfigi said: bad key ***"),
    ("openfigi said: bad key SEKRET-figi-42%2B", "openfigi said: bad key ***%2B"),
    ("Credential=AKIAFAKE0001/20240102/us-east-1/s3/aws4_request, SignedHeaders=host",
     "Credential=***, SignedHeaders=host"),
    ("GET /v3/x?apiKey=abc123&limit=5 and ?api_key=zz9 and &apikey=Q", 
     "GET /v3/x?apiKey=***&limit=5 and ?api_key=*** and &apikey=***"),
    ("Authorization: Bearer tok_abcdef", "Authorization: ***"),
    ("{'Authorization': 'Basic dXNlcjpwYXNz', 'Accept': 'x'}",
     "{'Authorization': '***', 'Accept': 'x'}"),
    ("X-OPENFIGI-APIKEY: figi-header-key", "X-OPENFIGI-APIKEY: ***"),
    ("cannot connect to postgresql://u:hunter2@127.0.0.1:5432/db",
     "cannot connect to postgresql://u:***@127.0.0.1:5432/db"),
    ("user=postgres password='p w' host=x passfile=/a/pgpass",
     "user=postgres password=*** host=x passfile=/a/pgpass"),
    ("nothing secret at http://127.0.0.1:9000/flatfiles", "nothing secret at http://127.0.0.1:9000/flatfiles"),
])
def test_redact_masks_each_secret_shape(text: str, expected: str) -> None:
    """Each sample comes out with exactly the secret part replaced by ***."""
    assert redact(text, ["SEKRET-figi-42"]) == expected


def test_short_or_empty_secrets_are_not_masked() -> None:
    """A secret shorter than 6 characters (or None) would mangle text, so it is ignored."""
    assert redact("a b c", ["a", None, ""]) == "a b c"


def test_configured_secrets_come_from_settings() -> None:
    """Vendor keys and the DSN / PGPASSWORD passwords are collected; others are not."""
    settings = Settings(dsn="postgresql://u:dsn-pass-1@h/db", massive_api_key="massive-key-1",
                        openfigi_api_key="figi-key-1", massive_s3_access_key_id="AKIAID000001",
                        massive_s3_secret_access_key="s3-secret-1",
                        pg_env=(("PGPASSWORD", "pg-env-pass-1"), ("PGUSER", "someone")),
                        sec_user_agent="me@example.com")
    assert set(configured_secrets(settings)) == {
        "dsn-pass-1", "massive-key-1", "figi-key-1", "AKIAID000001", "s3-secret-1",
        "pg-env-pass-1"}


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://:redis-pass-1@cache.example:6379/0", ["redis-pass-1"]),
    ("rediss://user:redis%40pass-2@cache.example:6380", ["redis@pass-2"]),
    ("unix://:sock-pass-3@/srv/stocksdb/valkey/valkey.sock", ["sock-pass-3"]),
    ("unix:///run/valkey.sock?db=0&password=query-pass-4", ["query-pass-4"]),
    ("redis://cache.example:6379", []),
])
def test_the_redis_url_password_is_a_configured_secret(url: str, expected: list[str]) -> None:
    """The password of STOCKSDB_REDIS_URL (userinfo, URL-decoded, or ?password=) is collected;
    the rest of the URL is not a secret (its host belongs in messages)."""
    assert list(configured_secrets(Settings(redis_url=url))) == expected


def test_filter_rewrites_message_arguments_and_traceback() -> None:
    """The filter masks a record's formatted message and its exception text."""
    try:
        raise ValueError("boom with key-in-exc-99")
    except ValueError:
        import sys

        record = logging.LogRecord("stocksdb.x", logging.ERROR, __file__, 1, "url %s",
                                   ("https://h/?apiKey=key-in-arg-77",), sys.exc_info())
    RedactingFilter(["key-in-exc-99"]).filter(record)
    text = logging.Formatter().format(record)
    assert "key-in-arg-77" not in text and "key-in-exc-99" not in text
    assert "apiKey=***" in text
