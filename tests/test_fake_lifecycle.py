"""The fake server never hangs the interpreter or litters its shutdown with warnings.

Each case runs in a fresh interpreter (a subprocess with a bounded timeout), because what is
tested is how that interpreter ends: its exit code, and that nothing is printed on the way out.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from baseten_loops.testing import FakeLoopsServer

#: Generous: each case takes well under a second; only a hang comes near it.
EXIT_TIMEOUT_SECONDS = 30

#: How each case starts the fake server; ``main()`` is what the case then does with it.
PRELUDE = """\
import asyncio
import sys
import urllib.request

from baseten_loops import APITimeoutError, LoopsClient, RetryPolicy
from baseten_loops.testing import FakeLoopsServer, Reply


def fetch(server, sampler_id):
    request = urllib.request.Request(
        f"{server.base_url}/v1/loops/samplers/{sampler_id}",
        headers={"Authorization": f"Bearer {server.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


async def time_out_on_a_late_reply(server):
    server.add_sampler("slow")
    server.enqueue(Reply(delay=5), sampler_id="slow")  # outlives the client's timeout
    once = RetryPolicy(max_attempts=1)
    async with LoopsClient(server.api_key, base_url=server.base_url, timeout=0.2, retry=once) as c:
        try:
            await c.samplers.get("slow")
        except APITimeoutError:
            print("timed out", flush=True)
"""


def run_case(body: str) -> subprocess.CompletedProcess[str]:
    """Run ``PRELUDE`` and ``body`` in a fresh interpreter, warnings shown; never hang."""
    source = PRELUDE + "\n" + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-W", "default", "-c", source],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.parametrize(
    "body",
    [
        # A REPL or notebook: entered, kept, never exited.
        """
        serving = FakeLoopsServer().serve_in_thread()
        server = serving.__enter__()
        server.add_sampler("abc123")
        print(fetch(server, "abc123"), flush=True)
        """,
        # The context manager dropped at once: the server still serves until the end.
        """
        server = FakeLoopsServer().serve_in_thread().__enter__()
        server.add_sampler("abc123")
        print(fetch(server, "abc123"), flush=True)
        """,
        # Never exited, with a request still being answered when the interpreter ends.
        """
        server = FakeLoopsServer().serve_in_thread().__enter__()
        asyncio.run(time_out_on_a_late_reply(server))
        print(200, flush=True)
        """,
    ],
    ids=["kept", "dropped", "late-reply"],
)
def test_a_never_exited_threaded_server_ends_with_the_interpreter(body: str) -> None:
    done = run_case(body)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == "200"


@pytest.mark.parametrize(
    "body",
    [
        # async with, in asyncio.run
        """
        async def main():
            async with FakeLoopsServer() as server:
                await time_out_on_a_late_reply(server)

        asyncio.run(main())
        """,
        # async with, in a loop that is closed without cancelling what is left on it
        """
        async def main():
            async with FakeLoopsServer() as server:
                await time_out_on_a_late_reply(server)

        loop = asyncio.new_event_loop()
        loop.run_until_complete(main())
        loop.close()
        """,
        # serve_in_thread, exited as it should be
        """
        with FakeLoopsServer().serve_in_thread() as server:
            asyncio.run(time_out_on_a_late_reply(server))
        """,
    ],
    ids=["asyncio-run", "closed-loop", "thread"],
)
def test_a_late_reply_outliving_the_client_leaves_no_warning_at_shutdown(body: str) -> None:
    done = run_case(body)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "timed out\n"


def test_a_threaded_server_that_cannot_bind_raises_in_the_caller() -> None:
    with FakeLoopsServer().serve_in_thread() as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        threads = threading.active_count()
        busy = f"errno {errno.EADDRINUSE}|address already in use"
        with pytest.raises(OSError, match=busy), FakeLoopsServer(port=port).serve_in_thread():
            pass  # pragma: no cover - never entered
        assert threading.active_count() == threads  # its thread has ended


def test_a_threaded_server_is_entered_once_and_stopped_once() -> None:
    serving = FakeLoopsServer().serve_in_thread()
    with serving as server:
        with pytest.raises(RuntimeError, match="already served"):
            serving.__enter__()
        base_url = server.base_url
    serving.__exit__(None, None, None)  # a second stop does nothing
    with pytest.raises(ConnectionRefusedError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", int(base_url.rsplit(":", 1)[1])), timeout=5)
