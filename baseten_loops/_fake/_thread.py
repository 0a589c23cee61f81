"""Serving the fake from a thread of its own, for synchronous code (private).

:meth:`baseten_loops.testing.FakeLoopsServer.serve_in_thread` returns a :class:`ServingThread`.
The thread runs its own event loop under :func:`asyncio.run`, so stopping it also ends whatever
is still running on that loop (an answer a client stopped waiting for) instead of leaving it
pending. A server that is entered and never exited (a REPL, a notebook) does not hold the
interpreter up: the thread is a daemon, and an :mod:`atexit` hook stops it while the
interpreter can still run it.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
from types import TracebackType
from typing import Protocol, TypeVar

#: How long stopping waits for the thread: only a server stuck in its own code comes near it.
STOP_TIMEOUT_SECONDS = 10.0


class Servable(Protocol):
    """What a :class:`ServingThread` serves: a server it can start and close."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...


S = TypeVar("S", bound=Servable)


class ServingThread(contextlib.AbstractContextManager[S]):
    """Serves ``server`` from a daemon thread while entered; exiting stops it.

    Stopped at the interpreter's exit too when it was never exited, and harmless to stop twice.
    """

    def __init__(self, server: S) -> None:
        self._server = server
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def __enter__(self) -> S:
        if self._thread is not None:
            raise RuntimeError("the server is already served from a thread")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        thread = threading.Thread(
            target=asyncio.run, args=(self._serve(started),), name="FakeLoopsServer", daemon=True
        )
        thread.start()
        try:
            started.result()  # a port in use is raised here, in the caller's thread
        except BaseException:
            thread.join(STOP_TIMEOUT_SECONDS)
            raise
        self._thread = thread
        atexit.register(self.stop)
        return self._server

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the server, end its loop and wait for the thread (bounded)."""
        atexit.unregister(self.stop)
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        thread.join(STOP_TIMEOUT_SECONDS)

    async def _serve(self, started: concurrent.futures.Future[None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self._server.start()
        except BaseException as exc:
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            await self._stopping.wait()
        finally:
            await self._server.close()
