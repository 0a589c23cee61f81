"""pytest fixtures for testing code that uses baseten_loops: ``loops_server`` and ``loops_client``.

::

    import pytest

    pytestmark = pytest.mark.asyncio  # or pytest.mark.anyio

    async def test_sampler_is_ready(loops_server, loops_client):
        loops_server.add_sampler("abc123", status="ACTIVE")
        sampler = await loops_client.samplers.get("abc123")
        assert sampler.status.is_ready

Switch it on with ``pip install "aio-baseten-loops[testing]"``, or explicitly with
``-p baseten_loops.pytest_plugin`` (e.g. in ``addopts``) or
``pytest_plugins = ["baseten_loops.pytest_plugin"]`` in a root ``conftest.py``. The package's
``pytest11`` entry point loads a small switch (``baseten_loops._pytest_entry``) that registers
this module only when the ``testing`` extra's requirements are installed; see
``docs/testing.md`` for why.

The fixtures work with pytest-asyncio (strict and auto mode) and with anyio's pytest plugin
(its asyncio backend: aiohttp runs on asyncio only):

- ``loops_server`` is a synchronous fixture: the :class:`FakeLoopsServer` runs in its own
  thread and event loop, so it does not care which loop, or which plugin, runs the test.
- ``loops_client`` is made, and closed, inside the test's own event loop (an aiohttp session
  belongs to one loop): for an anyio test through anyio's fixture runner, otherwise through
  pytest-asyncio's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from ._client import LoopsClient
from ._retry import RetryPolicy
from .testing import FakeLoopsServer

try:
    import pytest_asyncio
except ImportError:  # anyio-only projects
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = ["loops_client", "loops_client_options", "loops_server"]

#: Short waits between retries: tests see the same attempts and budget as production, fast.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture
def loops_server() -> Iterator[FakeLoopsServer]:
    """A started :class:`FakeLoopsServer` on 127.0.0.1, closed after the test.

    It serves from a thread of its own; add samplers and script replies before the code under
    test runs.
    """
    with FakeLoopsServer().serve_in_thread() as server:
        yield server


@pytest.fixture
def loops_client_options() -> dict[str, Any]:
    """Keyword arguments for the ``loops_client`` :class:`LoopsClient`; override to change them.

    Default: ``{"retry": FAST_RETRY}`` (default attempts and retry budget, millisecond
    backoff). The key and base URL always come from ``loops_server``.
    """
    return {"retry": FAST_RETRY}


@pytest.fixture
def loops_client(request: pytest.FixtureRequest) -> LoopsClient:
    """A :class:`LoopsClient` bound to ``loops_server``, made and closed in the test's loop."""
    if "anyio_backend" in request.fixturenames:
        client: LoopsClient = request.getfixturevalue("_loops_client_anyio")
    elif pytest_asyncio is not None:
        client = request.getfixturevalue("_loops_client_asyncio")
    else:
        raise pytest.UsageError(
            "loops_client needs an async test runner: install pytest-asyncio "
            '(pip install "aio-baseten-loops[testing]") or mark the test with '
            "pytest.mark.anyio"
        )
    return client


def _client_for(server: FakeLoopsServer, options: dict[str, Any]) -> LoopsClient:
    return LoopsClient(server.api_key, base_url=server.base_url, **options)


@pytest.fixture
async def _loops_client_anyio(
    anyio_backend: object, loops_server: FakeLoopsServer, loops_client_options: dict[str, Any]
) -> AsyncIterator[LoopsClient]:
    # Run by anyio's plugin, which runs async fixtures of tests that use `anyio_backend`.
    async with _client_for(loops_server, loops_client_options) as client:
        yield client


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def _loops_client_asyncio(
        loops_server: FakeLoopsServer, loops_client_options: dict[str, Any]
    ) -> AsyncIterator[LoopsClient]:
        # Marked for pytest-asyncio, so that strict mode runs it too.
        async with _client_for(loops_server, loops_client_options) as client:
            yield client
