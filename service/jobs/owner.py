"""One owner per data directory: an exclusive lock held by the process that runs its jobs.

``dialogforge serve`` and ``dialogforge generate`` take it before they touch a job; a second
process on the same directory is refused in one line that names the first (role, pid, host,
since when). The lock is ``fcntl.flock`` on ``data_dir/owner.lock``: the kernel drops it when the
owner dies, whatever the cause (SIGKILL included), so there is nothing stale to clean up. The
file also records the owner's id, which its job leases carry (``service.jobs.leases``): on a
file system where the lock does not hold (some network file systems), the leases still keep a
job from running twice.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

LOCK_FILE = "owner.lock"
_LIVE_OWNERS: set[str] = set()  # the owner ids made by this process


class DataDirInUseError(Exception):
    """Another process owns the data directory; the message names it and says what to do."""


def new_owner_id() -> str:
    """Return a fresh owner id: ``host:pid:random`` (host and pid let a successor see a dead owner)."""
    owner_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _LIVE_OWNERS.add(owner_id)
    return owner_id


def owner_is_gone(owner_id: str) -> bool:
    """Whether the owner was a process on this host that has exited (so its leases are free now).

    An owner on another host, or a live process (even one that reuses a dead owner's pid), is
    not gone: its leases are honoured until they expire.
    """
    host, _, rest = owner_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():  # this process's pid: an earlier process that had it (a container restart)
        return owner_id not in _LIVE_OWNERS
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class DataDirOwner:
    """The exclusive lock on one data directory (a context manager; :meth:`acquire` / :meth:`release`)."""

    def __init__(self, data_dir: Path, role: str) -> None:
        """Prepare to own ``data_dir`` as ``role`` (e.g. ``dialogforge serve``); nothing is locked yet."""
        self.data_dir, self.role = data_dir, role
        self.path = data_dir / LOCK_FILE
        self.owner_id = new_owner_id()
        self._handle: IO[str] | None = None

    def acquire(self) -> DataDirOwner:
        """Take the lock, or raise :class:`DataDirInUseError` at once (never waits)."""
        import fcntl

        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise DataDirInUseError(
                f"the data directory {self.data_dir} is in use by {holder}: stop it, or give this process "
                "another DIALOGFORGE_DATA_DIR"
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                handle.close()
                raise
            logger.warning("%s cannot be locked (%s): relying on job leases alone", self.path, exc.strerror)
        handle.seek(0)
        handle.truncate()
        info = {"owner": self.owner_id, "role": self.role, "pid": os.getpid(), "host": socket.gethostname()}
        handle.write(json.dumps({**info, "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        """Give the directory up (the file stays: removing a lock file races with the next owner)."""
        if self._handle is not None:
            self._handle.close()  # closing drops the flock
            self._handle = None

    def __enter__(self) -> DataDirOwner:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(text: str) -> str:
    """Say who holds the lock, from what it wrote into the lock file."""
    try:
        info: dict[str, Any] = json.loads(text)
    except ValueError:
        return "another dialogforge process"
    role, pid, host, since = (info.get(key, "?") for key in ("role", "pid", "host", "since"))
    return f"{role} (pid {pid} on {host}, since {since})"
