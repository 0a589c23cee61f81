"""Shared fixtures, and the aioresponses shim."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest import mock

import aioresponses.core
import pytest
from aiohttp import ClientResponse

from baseten_loops import LoopsClient, RetryPolicy
from baseten_loops.testing import FakeLoopsServer

from .recording import RecordingServer, recording_server


# aioresponses 0.7.9 builds ClientResponse objects without the `stream_writer` argument that
# aiohttp 3.14 made required ("ClientResponse.__init__() missing 'stream_writer'"). Give it a
# stand-in writer that reports nothing written. Remove once aioresponses supports aiohttp 3.14.
class _ShimmedClientResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", mock.Mock(output_size=0))
        super().__init__(method, url, **kwargs)


aioresponses.core.ClientResponse = _ShimmedClientResponse  # type: ignore[misc]

FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, max_retry_after=0.05)


@pytest.fixture
def mocked() -> Iterator[aioresponses.aioresponses]:
    with aioresponses.aioresponses() as m:
        yield m


@pytest.fixture
async def server() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer() as fake:
        yield fake


@pytest.fixture
async def client(server: FakeLoopsServer) -> AsyncIterator[LoopsClient]:
    async with LoopsClient(server.api_key, base_url=server.base_url, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
async def recorder() -> AsyncIterator[RecordingServer]:
    """A server that records every request as received (tests/recording.py)."""
    async with recording_server() as server:
        yield server


@pytest.fixture
async def rclient(recorder: RecordingServer) -> AsyncIterator[LoopsClient]:
    """A client of the recording server; each attempt may take 5 s (see ``hurried``)."""
    async with LoopsClient(
        "test-key", base_url=recorder.base_url, retry=FAST_RETRY, attempt_timeout=5.0
    ) as c:
        yield c
