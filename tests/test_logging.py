"""BASETEN_LOOPS_LOG: the library's logging on stderr, without code, and never the key.

The variable is read when the package is imported, so each case runs in a fresh interpreter
with the variable set before it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

KEY = "sk-live-LOGGING-CANARY-0123456789"

#: Calls that log: a retried 503, throttling (429s), failures (404, 500s past the attempts,
#: a dropped connection, a body that fails validation), from a server that echoes the key in
#: error bodies and headers.
CALLS = f"""
import asyncio
import logging

from baseten_loops import LoopsClient, LoopsError, RetryPolicy
from baseten_loops.testing import FakeLoopsServer, Reply

KEY = {KEY!r}
ECHO = {{"X-Echo": KEY, "WWW-Authenticate": "Bearer " + KEY}}
BODY = '{{"error": "bad key", "message": "you sent Bearer ' + KEY + '"}}'


async def main() -> None:
    async with FakeLoopsServer(KEY) as server:
        server.add_sampler("abc")
        server.enqueue(
            *(Reply(status=503, body=BODY, headers=ECHO), Reply()),  # retried, then found
            Reply(status=404, body=BODY, headers=ECHO),  # not retried
            *[Reply(status=500, body=BODY, headers=ECHO)] * 2,  # out of attempts
            Reply(drop=True),  # no answer, then a body that fails validation
            Reply(body='{{"sampler": {{"id": "' + KEY + '"}}}}', headers=ECHO),
            # Throttled last, twice (once is no limit): the client then paces itself, which
            # would slow what follows.
            *[Reply(status=429, body=BODY, headers={{**ECHO, "Retry-After": "0.01"}})] * 2,
            sampler_id="abc",
        )
        retry = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_retry_after=0.05)
        async with LoopsClient(KEY, base_url=server.base_url, retry=retry) as client:
            for _ in range(5):
                try:
                    await client.samplers.get("abc")
                except LoopsError:
                    pass
        async with LoopsClient("wrong-" + KEY, base_url=server.base_url) as client:
            try:
                await client.samplers.get("abc")
            except LoopsError:
                pass


asyncio.run(main())
handlers = logging.getLogger("baseten_loops").handlers
print(len(handlers), len(logging.getLogger().handlers))
"""


def run(script: str, value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BASETEN_LOOPS_LOG"}
    if value is not None:
        env["BASETEN_LOOPS_LOG"] = value
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_debug_logs_every_attempt_retry_and_throttle_to_stderr_never_the_key() -> None:
    done = run(CALLS, "debug")
    err = done.stderr
    assert "/v1/loops/samplers/abc failed (attempt 1): InternalServerError" in err
    assert "/v1/loops/samplers/abc: attempt 2 after status 503" in err
    assert "/v1/loops/samplers/abc -> 200 (attempt 2)" in err
    assert "failed (attempt 1): NotFoundError" in err
    assert "failed (attempt 2): InternalServerError" in err
    assert "failed (attempt 1): APIConnectionError" in err
    assert "after status 429" in err
    assert "samplers.get: throttled; pacing at" in err  # DEBUG: the flow control's rate
    assert "failed (attempt 1): AuthenticationError" in err
    assert "- baseten_loops - DEBUG]" in err and "- baseten_loops - INFO]" in err
    assert KEY not in err
    assert KEY not in done.stdout
    # One handler, on the library's logger only; the root logger is left alone.
    assert done.stdout.split() == ["1", "0"]


def test_info_logs_requests_and_retries_but_not_debug_details() -> None:
    err = run(CALLS, "INFO ").stderr
    assert "/v1/loops/samplers/abc: attempt 2 after status 503" in err
    assert "/v1/loops/samplers/abc -> 200 (attempt 2)" in err
    assert "failed (attempt 1): NotFoundError" in err
    assert "throttled; pacing at" not in err
    assert "DEBUG" not in err
    assert KEY not in err


@pytest.mark.parametrize("value", [None, ""])
def test_unset_or_empty_logs_nothing(value: str | None) -> None:
    done = run(CALLS, value)
    assert done.stderr == ""
    assert done.stdout.split() == ["0", "0"]


def test_unknown_value_is_ignored_with_one_warning() -> None:
    done = run(
        CALLS + "\nimport importlib, baseten_loops\nimportlib.reload(baseten_loops)\n", "loud"
    )
    assert done.stderr.splitlines() == [
        "BASETEN_LOOPS_LOG is set to a value other than 'debug' or 'info'; it is ignored and "
        "the library's logging stays as configured"
    ]
    assert done.stdout.split() == ["0", "0"]


def test_importing_twice_adds_no_second_handler() -> None:
    script = """
import importlib, logging, sys
import baseten_loops
importlib.reload(baseten_loops)
for name in [name for name in sys.modules if name.startswith("baseten_loops")]:
    del sys.modules[name]
import baseten_loops
baseten_loops._logging.configure_from_env()
logger = logging.getLogger("baseten_loops")
print(len(logger.handlers), logger.level == logging.DEBUG, len(logging.getLogger().handlers))
logger.debug("once")
"""
    done = run(script, "debug")
    assert done.stdout.split() == ["1", "True", "0"]
    assert done.stderr.count("once") == 1
