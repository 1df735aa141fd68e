"""S3 fixtures: a loopback moto server (server mode, real HTTP) holding day files."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stocksdb.config import Settings

FAKE_S3_KEY_ID = "AKIAFAKEKEYID0000001"
FAKE_S3_SECRET = "fakeS3secret/DoNotLeak/123456"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for the whole run; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(s3_endpoint: str, tmp_path: Path) -> Settings:
    """Settings pointing the massive source at the loopback server, with a fresh bucket."""
    import uuid

    bucket = f"flatfiles-{uuid.uuid4().hex[:8]}"
    settings = Settings(massive_s3_endpoint=s3_endpoint, massive_s3_bucket=bucket,
                        massive_s3_access_key_id=FAKE_S3_KEY_ID,
                        massive_s3_secret_access_key=FAKE_S3_SECRET, home=tmp_path / "home")
    s3_client(settings).create_bucket(Bucket=bucket)
    return settings


def s3_client(settings: Settings) -> Any:
    """A plain boto3 client for the test's own uploads."""
    import boto3

    return boto3.client("s3", endpoint_url=settings.massive_s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=settings.massive_s3_access_key_id,
                        aws_secret_access_key=settings.massive_s3_secret_access_key)


def upload_tree(settings: Settings, root: Path) -> list[str]:
    """Upload every file under root/flatfiles/ to the bucket under its relative key."""
    client = s3_client(settings)
    keys = []
    for path in sorted((root / "flatfiles").rglob("*.csv.gz")):
        key = path.relative_to(root / "flatfiles").as_posix()
        client.upload_file(str(path), settings.massive_s3_bucket, key)
        keys.append(key)
    return keys
