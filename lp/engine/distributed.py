"""Several processes: an error raised on one of them must end all of them. The others would
otherwise wait forever in their next collective (a gradient all-reduce, a barrier) for a process
that is gone. The failing process writes its one-line message into the process group's key-value
store; a watcher thread in every process polls the store and ends its process with that line."""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

from lp.errors import UserError

T = TypeVar("T")

ERROR_KEY = "lp/error"
POLL_S = 0.5


def _store():
    """The process group's key-value store (torch has no public accessor; None if it moved)."""
    import torch.distributed as dist

    try:
        return dist.distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):
        return None


def run_all_or_none(work: Callable[[], T], rank: int, world: int) -> T:
    """work() on this process. With several processes, if work raises on any one of them, every
    process prints the error's line (`lp: error: ...`) and exits with status 2 within about a
    second; a bug also prints its traceback on the process where it happened."""
    store = _store() if world > 1 else None
    if store is None:
        return work()
    finished = threading.Event()

    def stop_if_failed_elsewhere() -> None:
        try:
            failed = store.check([ERROR_KEY])
        except Exception:  # noqa: BLE001 - the store is gone: the launch is ending anyway
            return
        if failed:
            message = store.get(ERROR_KEY).decode()
            print(f"lp: error: {message} [stopped process {rank} too]", file=sys.stderr, flush=True)
            os._exit(2)

    def watch() -> None:
        while not finished.wait(POLL_S):
            stop_if_failed_elsewhere()

    threading.Thread(target=watch, daemon=True, name="lp-error-watch").start()
    try:
        return work()
    except BaseException as error:
        if not isinstance(error, UserError):
            # a collective broken because another process ended: that process's error is the news
            for _ in range(int(2 / POLL_S)):
                stop_if_failed_elsewhere()
                finished.wait(POLL_S)
        if isinstance(error, UserError):
            message = f"{error} (on process {rank})"
        elif isinstance(error, KeyboardInterrupt):
            message = f"interrupted (on process {rank})"
        else:
            traceback.print_exc()
            message = f"process {rank} failed: {type(error).__name__}: {error}"
        finished.set()  # this process's own watcher need not repeat the message
        store.set(ERROR_KEY, message)
        print(f"lp: error: {message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        # The launcher stops the other processes as soon as this one exits, before their watchers
        # could say why: give them two polls to read the message and end with it themselves.
        time.sleep(2.5 * POLL_S)
        os._exit(2)  # exiting normally could wait on collectives that will never complete
    finally:
        finished.set()
