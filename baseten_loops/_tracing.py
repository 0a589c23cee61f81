"""Keeps the key out of what tracers record about a failed request.

aiohttp hands the exception of a failed request to every ``TraceConfig`` of the session
(``on_request_exception``) before raising it, and OpenTelemetry's aiohttp instrumentation records
it on the attempt's span: its message and its stack trace, causes included. An answer so
malformed that aiohttp cannot parse it is quoted in those messages, so a server that echoed the
key into its status line or a header would put the key into the trace. :func:`scrub_traced_errors`
puts a trace config first in a session that has any, which blanks the key out of the exception
and its chain before the others see it. A session without trace configs is left as it is: no
cost per request when nothing traces.
"""

from __future__ import annotations

import types
from typing import Any

import aiohttp

from ._sansio import Secrets, redact

__all__ = ["scrub_traced_errors"]


def scrub_traced_errors(session: aiohttp.ClientSession, secrets: Secrets) -> None:
    """Make ``session``'s trace configs see its request errors with ``secrets`` blanked out.

    Only for a session that has trace configs (passed as ``trace_configs=``, or added by an
    instrumentation that patches ``aiohttp.ClientSession``); call it right after creating one.
    aiohttp calls its trace configs in list order, on every request, so the one put first here
    runs before the tracers.
    """
    configs = session.trace_configs
    if not configs:
        return

    async def on_request_exception(
        _session: aiohttp.ClientSession,
        _context: types.SimpleNamespace,
        params: aiohttp.TraceRequestExceptionParams,
    ) -> None:
        _scrub(params.exception, secrets)

    scrubber = aiohttp.TraceConfig()
    scrubber.on_request_exception.append(on_request_exception)
    scrubber.freeze()  # as aiohttp does to the configs it is given
    configs.insert(0, scrubber)


def _scrub(error: BaseException, secrets: Secrets) -> None:
    """Blank ``secrets`` out of ``error`` and every exception chained to it, in place.

    aiohttp's exceptions keep their text in attributes (``message``, ``line``) as well as in
    ``args``; both are what ``str()`` and a formatted traceback show.
    """
    pending = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(_scrubbed(arg, secrets) for arg in current.args)
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str):
                setattr(current, name, redact(value, secrets))
        pending.extend(link for link in (current.__cause__, current.__context__) if link)


def _scrubbed(value: Any, secrets: Secrets) -> Any:
    return redact(value, secrets) if isinstance(value, str) else value
