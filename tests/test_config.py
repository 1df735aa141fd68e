"""Settings.from_env: defaults, every environment variable, bad values, secrets kept out of
repr. Expected values are the documented ones (SETTING_HELP, docs/cli.md), written out here."""

from __future__ import annotations

from pathlib import Path

import pytest

from stocksdb.config import Settings
from stocksdb.errors import ConfigError

DEFAULTS = {
    "dsn": None,
    "pg_env": (),
    "home": Path(".stocksdb"),
    "database": "stocks_research",
    "massive_api_key": None,
    "massive_api_url": "https://api.massive.com",
    "massive_rest_calls_per_minute": 5,
    "massive_s3_access_key_id": None,
    "massive_s3_secret_access_key": None,
    "massive_s3_endpoint": "https://files.massive.com",
    "massive_s3_bucket": "flatfiles",
    "openfigi_api_key": None,
    "openfigi_api_url": "https://api.openfigi.com",
    "sec_user_agent": None,
    "sec_data_url": "https://data.sec.gov",
    "sec_www_url": "https://www.sec.gov",
    "max_file_bytes": 2 * 1024**3,
    "vendor_files_dir": None,
    "dsn_origin": "",
    "redis_url": None,
    "kafka_bootstrap_servers": None,
    "kafka_ingest_enable_streaming": False,
    "kafka_ingest_topic": "stocksdb.ingest",
    "backbone_mode": "standard",
    "valkey_bin": None,
}
# variable, Settings field, value in the environment, value in Settings
VARIABLES = [
    ("STOCKSDB_DSN", "dsn", "host=db.example port=5433 user=u", "host=db.example port=5433 user=u"),
    ("STOCKSDB_HOME", "home", "/srv/stocksdb", Path("/srv/stocksdb")),
    ("PGDATABASE", "database", "research2", "research2"),
    ("MASSIVE_API_KEY", "massive_api_key", "mk_123", "mk_123"),
    ("MASSIVE_API_URL", "massive_api_url", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    ("MASSIVE_REST_CALLS_PER_MINUTE", "massive_rest_calls_per_minute", "0", 0),
    ("MASSIVE_S3_ACCESS_KEY_ID", "massive_s3_access_key_id", "AKIA1", "AKIA1"),
    ("MASSIVE_S3_SECRET_ACCESS_KEY", "massive_s3_secret_access_key", "s3/secret", "s3/secret"),
    ("MASSIVE_S3_ENDPOINT", "massive_s3_endpoint", "http://127.0.0.1:10", "http://127.0.0.1:10"),
    ("MASSIVE_S3_BUCKET", "massive_s3_bucket", "mirror", "mirror"),
    ("OPENFIGI_API_KEY", "openfigi_api_key", "figi-key", "figi-key"),
    ("OPENFIGI_API_URL", "openfigi_api_url", "http://127.0.0.1:11", "http://127.0.0.1:11"),
    ("STOCKSDB_SEC_USER_AGENT", "sec_user_agent", "Research a@b.example",
     "Research a@b.example"),
    ("STOCKSDB_SEC_DATA_URL", "sec_data_url", "http://127.0.0.1:12", "http://127.0.0.1:12"),
    ("STOCKSDB_SEC_WWW_URL", "sec_www_url", "http://127.0.0.1:13", "http://127.0.0.1:13"),
    ("STOCKSDB_MAX_FILE_BYTES", "max_file_bytes", "1048576", 1_048_576),
    ("STOCKSDB_VENDOR_FILES_DIR", "vendor_files_dir", "/srv/bars", Path("/srv/bars")),
    ("STOCKSDB_REDIS_URL", "redis_url", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ("REDIS_URL", "redis_url", "unix:///run/valkey.sock", "unix:///run/valkey.sock"),
    ("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers", "k1:9092,k2:9092", "k1:9092,k2:9092"),
    ("KAFKA_INGEST_ENABLE_STREAMING", "kafka_ingest_enable_streaming", "yes", True),
    ("KAFKA_INGEST_TOPIC", "kafka_ingest_topic", "rehearsal.ingest", "rehearsal.ingest"),
    ("STOCKSDB_BACKBONE_MODE", "backbone_mode", "institutional", "institutional"),
    ("STOCKSDB_VALKEY_BIN", "valkey_bin", "/opt/valkey/bin/valkey-server",
     Path("/opt/valkey/bin/valkey-server")),
]
# PGDATABASE is also a libpq variable, so it is carried to the tools with the other PG* ones;
# a DSN records the setting it came from.
ALSO: dict[str, dict[str, object]] = {
    "PGDATABASE": {"pg_env": (("PGDATABASE", "research2"),)},
    "STOCKSDB_DSN": {"dsn_origin": "STOCKSDB_DSN"}}
SECRETS = {"STOCKSDB_DSN": "host=h password=dsn-Pw-91", "MASSIVE_API_KEY": "massive-Key-92",
           "MASSIVE_S3_ACCESS_KEY_ID": "AKIA-Id-93", "MASSIVE_S3_SECRET_ACCESS_KEY": "s3-Sk-94",
           "OPENFIGI_API_KEY": "figi-Key-95", "PGPASSWORD": "pg-Pw-96",
           "STOCKSDB_REDIS_URL": "redis://:redis-Pw-97@cache.example:6379/0"}


def fields(settings: Settings) -> dict[str, object]:
    return {name: getattr(settings, name) for name in DEFAULTS}


def test_empty_environment_gives_the_documented_defaults() -> None:
    """No variable set: every setting has its documented default; the embedded server is used."""
    settings = Settings.from_env({})
    assert fields(settings) == DEFAULTS
    assert fields(Settings()) == DEFAULTS, "the dataclass defaults are the same"
    assert settings.uses_embedded_server
    assert (settings.server_dir, settings.cache_dir) == (Path(".stocksdb/pgdata"),
                                                        Path(".stocksdb/cache"))


@pytest.mark.parametrize(("variable", "field", "raw", "expected"), VARIABLES,
                         ids=[v[0] for v in VARIABLES])
def test_each_variable_sets_its_field_and_nothing_else(variable: str, field: str, raw: str,
                                                       expected: object) -> None:
    """One variable changes exactly the setting it is documented for."""
    got = fields(Settings.from_env({variable: raw}))
    assert got == {**DEFAULTS, field: expected, **ALSO.get(variable, {})}


@pytest.mark.parametrize("variable", [v[0] for v in VARIABLES])
def test_an_empty_variable_counts_as_unset(variable: str) -> None:
    """`VAR=` (exported but empty) leaves the default, as if the variable were not set."""
    assert fields(Settings.from_env({variable: ""})) == DEFAULTS


def test_home_moves_the_server_and_cache_directories() -> None:
    """server_dir and cache_dir live under STOCKSDB_HOME."""
    settings = Settings.from_env({"STOCKSDB_HOME": "/srv/s"})
    assert (settings.server_dir, settings.cache_dir) == (Path("/srv/s/pgdata"),
                                                        Path("/srv/s/cache"))


def test_dsn_option_wins_over_the_environment() -> None:
    """--dsn (the `dsn` argument) beats STOCKSDB_DSN; either one turns off the embedded server."""
    settings = Settings.from_env({"STOCKSDB_DSN": "host=env"}, dsn="host=option")
    assert settings.dsn == "host=option" and not settings.uses_embedded_server
    assert settings.dsn_origin == settings.postgres_origin == "--dsn"
    assert Settings.from_env({}, dsn="host=option").dsn == "host=option"


def test_pg_variables_are_kept_in_order_and_pghost_means_an_external_server() -> None:
    """The libpq PG* variables that are set (and only those) are carried; PGHOST alone means
    a server of the user's, not the embedded one."""
    settings = Settings.from_env({"PGUSER": "me", "PGHOST": "db.example", "PGPORT": "",
                                  "PGSSLMODE": "require", "PGDATABASE": "d"})
    assert settings.pg_env == (("PGHOST", "db.example"), ("PGDATABASE", "d"), ("PGUSER", "me"))
    assert not settings.uses_embedded_server
    assert Settings.from_env({"PGUSER": "me"}).uses_embedded_server


@pytest.mark.parametrize("variable", ["MASSIVE_REST_CALLS_PER_MINUTE", "STOCKSDB_MAX_FILE_BYTES"])
@pytest.mark.parametrize("raw", ["five", "-1", "1.5", "2GB", " "])
def test_a_bad_number_is_a_config_error_naming_variable_value_and_expectation(
        variable: str, raw: str) -> None:
    """Not a whole number >= 0: ConfigError naming the variable, its value and what is
    expected (the E2 recipe), never a traceback from int()."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: raw})
    assert str(caught.value) == f"{variable} is {raw!r}; expected a whole number >= 0"
    assert caught.value.exit_code == 1


def test_secrets_are_not_in_repr() -> None:
    """API keys, S3 credentials, the DSN (it may hold a password) and PGPASSWORD never appear
    in repr(settings), which ends up in logs and tracebacks."""
    settings = Settings.from_env(SECRETS)
    text = repr(settings) + str(settings)
    assert settings.massive_api_key == "massive-Key-92", "the secrets were read"
    leaked = [name for name, value in SECRETS.items() if value in text]
    assert not leaked, f"repr shows {leaked}: {text}"
    assert "massive_api_url='https://api.massive.com'" in text, "repr still shows the rest"


# Streaming (issue 15): the seed's truthy forms, case-insensitive; anything else is an error.
@pytest.mark.parametrize(("raw", "expected"), [
    ("1", True), ("true", True), ("yes", True), ("on", True), ("TRUE", True), (" On ", True),
    ("0", False), ("false", False), ("no", False), ("off", False), ("Off", False), ("", False)])
def test_streaming_switch_accepts_the_documented_forms(raw: str, expected: bool) -> None:
    """KAFKA_INGEST_ENABLE_STREAMING: 1/true/yes/on turn it on, 0/false/no/off (or empty) off."""
    settings = Settings.from_env({"KAFKA_INGEST_ENABLE_STREAMING": raw})
    assert settings.kafka_ingest_enable_streaming is expected


@pytest.mark.parametrize("raw", ["2", "enabled", "y", "tru", "-"])
def test_a_bad_streaming_switch_is_a_config_error_naming_the_variable(raw: str) -> None:
    """Anything else fails with the variable, its value and the accepted forms."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"KAFKA_INGEST_ENABLE_STREAMING": raw})
    assert str(caught.value) == (f"KAFKA_INGEST_ENABLE_STREAMING is {raw!r}; expected "
                                 "1/true/yes/on (on) or 0/false/no/off (off)")


def test_kafka_settings_default_off_and_read_their_variables() -> None:
    """Streaming is off with no brokers and topic stocksdb.ingest by default; the variables set
    the brokers and the topic."""
    default = Settings.from_env({})
    assert (default.kafka_ingest_enable_streaming, default.kafka_bootstrap_servers,
            default.kafka_ingest_topic) == (False, None, "stocksdb.ingest")
    assert (Settings().kafka_ingest_enable_streaming, Settings().kafka_ingest_topic) == \
        (False, "stocksdb.ingest")
    set_ = Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "10.0.0.1:9092,10.0.0.2:9092",
                              "KAFKA_INGEST_TOPIC": "research.ingest"})
    assert (set_.kafka_bootstrap_servers, set_.kafka_ingest_topic) == \
        ("10.0.0.1:9092,10.0.0.2:9092", "research.ingest")


@pytest.mark.parametrize(("variable", "raw", "message"), [
    ("KAFKA_INGEST_ENABLE_STREAMING", "enabled",
     "KAFKA_INGEST_ENABLE_STREAMING is 'enabled'; expected 1/true/yes/on (on) or "
     "0/false/no/off (off)"),
    ("STOCKSDB_BACKBONE_MODE", "production",
     "STOCKSDB_BACKBONE_MODE is 'production'; expected standard or institutional"),
])
def test_a_bad_backbone_value_is_a_config_error_naming_the_variable(
        variable: str, raw: str, message: str) -> None:
    """Anything but the documented values fails, naming the variable and what it accepts."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: raw})
    assert str(caught.value) == message


def test_stocksdb_redis_url_wins_over_redis_url() -> None:
    """Our own variable beats the generic REDIS_URL another tool may have set."""
    settings = Settings.from_env({"STOCKSDB_REDIS_URL": "redis://ours", "REDIS_URL": "redis://x"})
    assert settings.redis_url == "redis://ours"


def test_stocksdb_redis_url_wins_over_redis_url_and_home_holds_the_valkey_folder() -> None:
    """STOCKSDB_REDIS_URL beats the conventional REDIS_URL; the embedded server's files live
    in STOCKSDB_HOME/valkey."""
    settings = Settings.from_env({"STOCKSDB_REDIS_URL": "redis://ours:6379",
                                  "REDIS_URL": "redis://theirs:6379", "STOCKSDB_HOME": "/srv/s"})
    assert settings.redis_url == "redis://ours:6379"
    assert settings.valkey_dir == Path("/srv/s/valkey")


@pytest.mark.parametrize("variable", ["STOCKSDB_REDIS_URL", "REDIS_URL"])
def test_a_redis_url_of_another_scheme_is_a_config_error_without_its_password(
        variable: str) -> None:
    """http://, a bare host:port: ConfigError naming the variable and the schemes expected,
    the password in the value masked."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: "http://u:hunter22@cache:6379"})
    assert str(caught.value) == (f"{variable} is 'http://u:***@cache:6379'; expected a "
                                 "redis://, rediss:// or unix:// URL")
    with pytest.raises(ConfigError, match="expected a redis://"):
        Settings.from_env({variable: "cache.example:6379"})
