"""Kills a job runner's process groups when the runner dies, even by SIGKILL (which the runner cannot handle).

The local runner starts this script once (`python -I -S watchdog.py`, stdlib only, so it starts fast) and keeps
the write end of its stdin. It writes `+PGID` when a job starts and `-PGID` when it ends. End of input means the
runner is gone (or done): every group still registered gets SIGTERM, then SIGKILL after a grace period.
The watchdog ignores SIGINT/SIGTERM/SIGHUP, so a Ctrl-C of the whole terminal cannot stop it before it cleans up.
"""
from __future__ import annotations

import os
import signal
import sys
import time

GRACE_S = 2.0


def group_alive(pgid: int) -> bool:
    """True while process group `pgid` has a member."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_groups(groups: set[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM each live process group, wait up to grace_s for them to go, then SIGKILL the rest."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pgid in [g for g in groups if group_alive(g)]:
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace_s
        while sig == signal.SIGTERM and any(group_alive(g) for g in groups) and time.monotonic() < deadline:
            time.sleep(0.05)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin:
        line = line.strip()
        if line[:1] == "+" and line[1:].isdigit():
            groups.add(int(line[1:]))
        elif line[:1] == "-" and line[1:].isdigit():
            groups.discard(int(line[1:]))
    kill_groups(groups)


if __name__ == "__main__":
    main()
