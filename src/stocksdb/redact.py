"""Secrets out of text: the one redaction used wherever an error or a log line leaves us.

In:  any text (a vendor's error, a URL, a DSN, a log message) and the secret values we know.
Out: the same text with each secret replaced by '***'.

Masked: every known secret value (also URL-encoded); `Credential=` values (AWS signatures);
`apiKey=` / `api_key=` / `apikey=` / `api-key=`, `access_token=`, `token=`, `secret=` and
`password=` values in query strings and conninfo; `Authorization` header values (Bearer, Basic,
AWS4-HMAC-SHA256, ...); `X-OPENFIGI-APIKEY` header values; passwords in postgresql:// URLs.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from stocksdb.config import Settings

REDACTED = "***"
# Shorter values are not treated as secrets: replacing them would mangle ordinary text.
MIN_SECRET_LENGTH = 6
_SECRET_FIELDS = ("massive_api_key", "massive_s3_access_key_id", "massive_s3_secret_access_key",
                  "openfigi_api_key", "alphavantage_api_key", "fred_api_key")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # AWS SigV4: Credential=AKIA.../date/region/s3/aws4_request (also X-Amz-Credential=...)
    (re.compile(r"(?i)(credential=)[^\s&,\"'<]+"), rf"\g<1>{REDACTED}"),
    # Header lines or dict reprs: Authorization: Bearer xyz / 'Authorization': 'Basic xyz'
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:[a-z0-9-]+\s+)?[^'\"\r\n]+"),
     rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)(x-openfigi-apikey['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
     rf"\g<1>{REDACTED}"),
    # Query strings and key=value conninfo; a quoted conninfo value may hold spaces.
    (re.compile(r"(?i)\b((?:api[_-]?key|access_token|token|secret|password|pgpassword)\s*=\s*)"
                r"(?:'(?:[^'\\]|\\.)*'|[^\s&#'\"]+)"), rf"\g<1>{REDACTED}"),
    # postgresql://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(@)"), rf"\g<1>{REDACTED}\g<2>"),
)
# Every pattern above needs one of these words; text without any skips the patterns (redact runs
# on each stored rejected row, and most are plain values).
_TRIGGERS = ("credential", "authorization", "openfigi", "apikey", "api_key", "api-key", "token",
             "secret", "password", "://")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with known `secrets` and credential-shaped values replaced by '***'."""
    out = str(text)
    values = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    for value in sorted(values | {quote(v, safe="") for v in values}, key=len, reverse=True):
        out = out.replace(value, REDACTED)
    lowered = out.lower()
    if not any(word in lowered for word in _TRIGGERS):
        return out
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    return out


def configured_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret value in `settings`: vendor keys and a password in the DSN, PGPASSWORD or
    the Redis URL."""
    values = [getattr(settings, name) for name in _SECRET_FIELDS]
    values += [v for k, v in settings.pg_env if k == "PGPASSWORD"]
    # Like the DSN, the Redis URL is not secret as a whole (its host belongs in messages);
    # only its password is, in the userinfo (redis://:pw@h) or the query (unix:///s?password=).
    values += url_passwords(settings.redis_url)
    if settings.dsn:
        from psycopg import ProgrammingError
        from psycopg.conninfo import conninfo_to_dict

        with contextlib.suppress(ProgrammingError):  # an unparseable DSN fails later, clearly
            values.append(conninfo_to_dict(settings.dsn).get("password"))
    return tuple(str(v) for v in values if v)


def url_passwords(url: str | None) -> list[str]:
    """The passwords a URL carries: its userinfo password and a `password=` query value."""
    if not url:
        return []
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    return found + parse_qs(parts.query).get("password", [])


class RedactingFilter(logging.Filter):
    """Redacts each record's message (and traceback text) before any handler formats it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True
