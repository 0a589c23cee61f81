"""A small aiohttp.web app on 127.0.0.1 that records every request as the server received it.

Replies are scripted per ``(method, path)``; the last scripted reply for a route repeats. A
reply can also hang (the client times out) or drop the connection after reading the request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
from aiohttp import web


@attrs.frozen
class Received:
    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, str]
    json: Any  # None when there was no body


@attrs.frozen
class Answer:
    status: int = 200
    body: Any = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    hang: bool = False
    drop: bool = False


class RecordingServer:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: dict[tuple[str, str], list[Answer]] = {}
        self.base_url = ""

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self._script[(method, path)] = list(answers)

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.received if (r.method, r.path) == (method, path))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        path = request.raw_path.split("?", 1)[0]
        self.received.append(
            Received(
                method=request.method,
                path=path,
                query=dict(request.query),
                json=json.loads(raw) if raw else None,
            )
        )
        answers = self._script.get((request.method, path)) or [Answer(status=404)]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer.hang:
            await asyncio.sleep(3600)  # cancelled when the server stops
        if answer.drop:
            assert request.transport is not None
            request.transport.close()  # the request was read: the server may have acted
            return web.Response()
        return web.json_response(answer.body, status=answer.status, headers=answer.headers)


@asynccontextmanager
async def recording_server() -> AsyncIterator[RecordingServer]:
    recorder = RecordingServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder._handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    recorder.base_url = f"http://127.0.0.1:{port}"
    try:
        yield recorder
    finally:
        await runner.cleanup()
