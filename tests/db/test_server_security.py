"""The embedded server on a shared machine: nobody gets in without the generated password.

These tests start their own embedded server (one per module, in a private temp dir) because
they look at its files, its processes and the folders around it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stocksdb.db.server import EmbeddedServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root and setpriv to act as another OS user")

OTHER_USER = ("--reuid", "nobody", "--regid", "nogroup", "--clear-groups")


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    """A started embedded server in a fresh temp home (0700, as mkdtemp makes it)."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-sec-")) / "home"
    srv = EmbeddedServer(home / "pgdata", fast=True)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(home.parent, ignore_errors=True)


def psql_as_nobody(conninfo: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """`psql -c 'select 1'` run as OS user nobody, with a clean environment."""
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("no psql on PATH")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "PGCONNECT_TIMEOUT": "5"}
    if password is not None:
        env["PGPASSWORD"] = password
    return subprocess.run(["setpriv", *OTHER_USER, psql, "-XAtw", conninfo, "-c", "select 1"],
                          capture_output=True, text=True, env=env, timeout=30, check=False)


def generated_password(server: EmbeddedServer) -> str:
    """The superuser password from the server's .pgpass-format file (last field)."""
    line = server.passfile.read_text().splitlines()[0]
    return line.rsplit(":", 1)[1]


def tcp_conninfo(server: EmbeddedServer) -> str:
    port = server.status().port
    return make_conninfo(host="127.0.0.1", port=str(port), user="postgres", dbname="postgres")


def test_other_user_needs_the_password_over_tcp(server: EmbeddedServer) -> None:
    """As `nobody`, TCP without the password is refused; with the generated one it works."""
    refused = psql_as_nobody(tcp_conninfo(server))
    assert refused.returncode != 0, refused.stdout
    assert "password" in refused.stderr, refused.stderr
    allowed = psql_as_nobody(tcp_conninfo(server), generated_password(server))
    assert allowed.returncode == 0 and allowed.stdout.strip() == "1", allowed.stderr


def test_socket_needs_the_password_and_is_private(server: EmbeddedServer) -> None:
    """The Unix socket lives in a 0700 folder; even root must send the password there."""
    sockdir = server.socket_dir
    info = sockdir.stat()
    assert stat.S_IMODE(info.st_mode) == 0o700, oct(info.st_mode)
    port = server.status().port
    assert (sockdir / f".s.PGSQL.{port}").is_socket()
    conninfo = make_conninfo(host=str(sockdir), port=str(port), user="postgres",
                             dbname="postgres", passfile="/nonexistent")
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(conninfo, connect_timeout=5).close()
    assert psql_as_nobody(conninfo, generated_password(server)).returncode != 0
    with psycopg.connect(make_conninfo(conninfo, password=generated_password(server))) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_password_lives_in_a_private_pgpass_file(server: EmbeddedServer) -> None:
    """The file is 0600, in .pgpass format for user postgres, and our DSN names it, not the
    password."""
    mode = stat.S_IMODE(server.passfile.stat().st_mode)
    assert mode == 0o600, oct(mode)
    fields = server.passfile.read_text().splitlines()[0].split(":")
    assert fields[:4] == ["*", "*", "*", "postgres"] and len(fields[4]) >= 24
    dsn = server.dsn("postgres")
    assert fields[4] not in dsn
    assert conninfo_to_dict(dsn)["passfile"] == str(server.passfile)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_our_dsn_goes_through_the_private_socket(server: EmbeddedServer) -> None:
    """The DSN we build names the socket's 0700 folder (the server sees a Unix-socket client:
    no client address); with no socket there it falls back to 127.0.0.1."""
    dsn = server.dsn("postgres")
    assert conninfo_to_dict(dsn)["host"] == str(server.socket_dir)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT inet_client_addr() IS NULL").fetchone() == (True,)
    sock = server.socket_dir / f".s.PGSQL.{server.status().port}"
    aside = sock.with_name(sock.name + ".aside")
    sock.rename(aside)
    try:
        dsn = server.dsn("postgres")
        assert conninfo_to_dict(dsn)["host"] == "127.0.0.1"
        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT host(inet_client_addr())").fetchone() == ("127.0.0.1",)
    finally:
        aside.rename(sock)


def test_server_process_group_is_not_root(server: EmbeddedServer) -> None:
    """The postmaster runs as the service user with that user's group, not root's."""
    pid = server.status().pid
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
    groups = next(line for line in status.splitlines() if line.startswith("Groups:")).split()[1:]
    assert "0" not in uids and "0" not in gids and "0" not in groups, (uids, gids, groups)


def test_trust_cluster_is_migrated_on_start_and_told_once(tmp_path_factory: pytest.TempPathFactory,
                                                          ) -> None:
    """A cluster made with --auth=trust gets a password, scram pg_hba and one notice."""
    home = Path(tempfile.mkdtemp(prefix="stocksdb-trust-")) / "home"
    srv = EmbeddedServer(home / "pgdata", fast=True)
    try:
        _make_trust_cluster(srv)
        first = srv.start()
        assert any("password" in n for n in first.notices), first.notices
        hba = [line.split() for line in (srv.pgdata / "pg_hba.conf").read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
        assert hba and all(line[-1] == "scram-sha-256" for line in hba), hba
        refused = psql_as_nobody(tcp_conninfo(srv))
        assert refused.returncode != 0 and "password" in refused.stderr, refused.stderr
        with psycopg.connect(srv.dsn("postgres")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        srv.stop()
        assert srv.start().notices == ()
    finally:
        srv.stop()
        shutil.rmtree(home.parent, ignore_errors=True)


def _make_trust_cluster(srv: EmbeddedServer) -> None:
    """What releases before issue 10 created: initdb --auth=trust, no password file."""
    from stocksdb.db.server import bin_dir

    srv.pgdata.mkdir(parents=True)
    srv.home.parent.chmod(0o755)
    srv.home.chmod(0o755)
    shutil.chown(srv.pgdata, "pgserver", "pgserver")
    srv.pgdata.chmod(0o700)
    subprocess.run(["setpriv", "--reuid", "pgserver", "--regid", "pgserver", "--clear-groups",
                    str(bin_dir() / "initdb"), "-D", str(srv.pgdata), "--auth=trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True,
                   cwd="/")
