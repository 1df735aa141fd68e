"""The `massive` source for day files: Massive's S3 flat files through a local cache.

In:  s3://{MASSIVE_S3_BUCKET}/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz at
     MASSIVE_S3_ENDPOINT, with the MASSIVE_S3_* keys (secrets: never logged or shown).
Out: DayFile pointing at a local copy under STOCKSDB_HOME/cache/massive/<bucket>/<key>.
A cached object is reused while its ETag and size match the bucket listing; a republished
object (new ETag or size) is downloaded again, so the loader sees the new rows.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

from stocksdb.config import Settings
from stocksdb.errors import MissingCredentialError, SourceError
from stocksdb.redact import configured_secrets, redact
from stocksdb.sources.flatfiles import DAY_AGGS_PREFIX, DayFile, day_key, key_date

log = logging.getLogger("stocksdb.sources.massive_s3")
_LOOKBACK_MONTHS = 24


class MassiveS3:
    """Day files from Massive's S3 bucket, cached locally by key and ETag."""

    source = "massive"

    def __init__(self, settings: Settings, *, client: Any = None) -> None:
        if client is None:
            client = _make_client(settings)
        self._s3 = client
        self._secrets = configured_secrets(settings)  # S3 errors may quote the key id
        self.bucket = settings.massive_s3_bucket
        self.cache = settings.cache_dir / "massive" / self.bucket
        self._months: dict[str, dict[str, tuple[str, int]]] = {}

    def __repr__(self) -> str:
        return f"MassiveS3(bucket={self.bucket!r}, cache={str(self.cache)!r})"

    def _listing(self, year: int, month: int) -> dict[str, tuple[str, int]]:
        """key -> (etag, size) of one month's day files (listed once per run)."""
        prefix = f"{DAY_AGGS_PREFIX}/{year:04d}/{month:02d}/"
        if prefix not in self._months:
            found: dict[str, tuple[str, int]] = {}
            try:
                pages = self._s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix)
                for page in pages:
                    for obj in page.get("Contents", []):
                        found[obj["Key"]] = (str(obj["ETag"]).strip('"'), int(obj["Size"]))
            except Exception as exc:  # botocore raises many unrelated types
                raise SourceError(
                    f"cannot list s3://{self.bucket}/{prefix}: {_short(exc, self._secrets)}; "
                    "check MASSIVE_S3_ENDPOINT and the S3 keys") from exc
            self._months[prefix] = found
        return self._months[prefix]

    def locate(self, day: date) -> DayFile | None:
        key = day_key(day)
        meta = self._listing(day.year, day.month).get(key)
        if meta is None:
            return None
        etag, size = meta
        local = self.cache / key
        if _cached(local, etag, size):
            log.debug("%s: cached (etag %s)", key, etag)
        else:
            self._download(key, local, etag, size)
        return DayFile(key=key, path=local, size=size, etag=etag)

    def _download(self, key: str, local: Path, etag: str, size: int) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(local.name + ".part")
        try:
            self._s3.download_file(self.bucket, key, str(tmp))
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"cannot download s3://{self.bucket}/{key}: "
                              f"{_short(exc, self._secrets)}") from exc
        os.replace(tmp, local)
        _sidecar(local).write_text(json.dumps({"etag": etag, "size": size}))
        log.info("%s: downloaded (%d bytes, etag %s)", key, size, etag)

    def latest_date(self, until: date) -> date | None:
        year, month = until.year, until.month
        for _ in range(_LOOKBACK_MONTHS):
            days = [d for k in self._listing(year, month) if (d := key_date(k)) and d <= until]
            if days:
                return max(days)
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return None


def _sidecar(local: Path) -> Path:
    return local.with_name(local.name + ".meta.json")


def _cached(local: Path, etag: str, size: int) -> bool:
    try:
        meta = json.loads(_sidecar(local).read_text())
    except (OSError, ValueError):
        return False
    return local.is_file() and meta == {"etag": etag, "size": size} and \
        local.stat().st_size == size


def _short(exc: Exception, secrets: tuple[str, ...]) -> str:
    """The first line of a botocore error, redacted before it is cut."""
    return redact(str(exc), secrets).splitlines()[0][:300]


def _make_client(settings: Settings) -> Any:
    if not (settings.massive_s3_access_key_id and settings.massive_s3_secret_access_key):
        raise MissingCredentialError(
            "source 'massive' needs S3 keys for the flat files; set MASSIVE_S3_ACCESS_KEY_ID "
            "and MASSIVE_S3_SECRET_ACCESS_KEY (from the Massive dashboard)"
        )
    import boto3
    from botocore.config import Config

    # botocore's DEBUG records print request headers, access key id included: keep them off
    # unless someone chose a level for these loggers on purpose.
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)

    session = boto3.session.Session(
        aws_access_key_id=settings.massive_s3_access_key_id,
        aws_secret_access_key=settings.massive_s3_secret_access_key)
    return session.client(
        "s3", endpoint_url=settings.massive_s3_endpoint, region_name="us-east-1",
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}))
