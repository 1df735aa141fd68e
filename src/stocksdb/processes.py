"""Which processes are ours: liveness, identity and stopping, read from /proc.

In:  process ids (from a pidfile or an owner record) and the config file a server was started
     with. Out: whether a pid is alive and is that server, every process started with that
     config file, a start stamp that tells a pid from a later process reusing it, and a
     terminate-then-kill stop.

A pid alone proves little: after a crash or a reboot the pid in a pidfile may belong to an
unrelated process. A server started with `valkey-server CONF` (its process title left alone:
`set-proc-title no`) carries CONF in /proc/PID/cmdline, and CONF is unique to one
STOCKSDB_HOME, so that is what identifies it. Where /proc does not exist (macOS), a live pid
is taken at its word.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

_PROC = Path("/proc")


def pid_alive(pid: int) -> bool:
    """True when a process `pid` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != "Z"


def _state(pid: int) -> str | None:
    stat = _stat_fields(pid)
    return stat[0] if stat else None


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the `(comm)` field: state first; None without /proc or pid."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def start_stamp(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (None without /proc): with the pid, it
    names one process, so a recorded owner is not confused with a later one reusing its pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def command_line(pid: int) -> list[str] | None:
    """The argv of `pid`, or None when it cannot be read (gone, no /proc, not permitted)."""
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def runs_config(pid: int, config: Path) -> bool:
    """True when `pid` is alive and was started with the config file `config`."""
    if not pid_alive(pid):
        return False
    args = command_line(pid)
    if args is None:
        return not _PROC.is_dir()   # no /proc: trust the live pid
    return str(config) in args[1:]


def processes_running(config: Path) -> list[int]:
    """Every live process started with `config` as an argument, lowest pid first."""
    if not _PROC.is_dir():
        return []
    pids = [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]
    return sorted(pid for pid in pids if pid != os.getpid() and runs_config(pid, config))


def stop_process(pid: int, *, timeout_s: float = 5.0) -> bool:
    """SIGTERM `pid`, SIGKILL it after `timeout_s`; True when it is gone afterwards."""
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return True
            time.sleep(0.02)
    return not pid_alive(pid)
