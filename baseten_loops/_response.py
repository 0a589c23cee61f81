"""What an answer said besides its content: :class:`RawResponse` (``client.with_raw_response``).

The session fills a :class:`ResponseRecord` only when a raw call passes one
(``HTTPSession.request(record=...)``): a plain call pays nothing for this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy

from ._sansio import request_id_of, safe_headers

__all__ = ["RawResponse", "ResponseRecord"]

T = TypeVar("T")
U = TypeVar("U")

_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())


class RawResponse(Generic[T]):
    """A call's result with what its answer said: ``client.with_raw_response.<group>.<method>()``.

    As openai's and anthropic's ``with_raw_response`` give an ``APIResponse``: the same call,
    the same arguments, the same errors; the result comes back wrapped. :meth:`parse` gives what
    the plain call returns (the very object).

    Attributes:
        status: The HTTP status of the answer (2xx).
        headers: The answer's headers: read-only, names ignoring case (``getall`` gives a
            repeated one). Never a credential: ``Authorization``, ``Proxy-Authorization``,
            ``Cookie``, ``Set-Cookie`` and any header holding the API key are left out.
        request_id: The answer's request id (``x-request-id`` and kin), or ``None``.
        elapsed: Seconds the whole call took, retries and waits included.
        attempts: Requests the call sent (1 without retries; for a ``wait_until_...``, every
            lookup's).
        method: The request's HTTP method.
        url: Where the request went: scheme, host and path, without the query string.

    For a ``wait_until_...`` the answer is the last lookup's; for a listing that pages
    (``iter_files``), the first page's; for ``get_many`` and ``iter_many``, one per id.

    """

    __slots__ = (
        "_value",
        "attempts",
        "elapsed",
        "headers",
        "method",
        "request_id",
        "status",
        "url",
    )

    def __init__(
        self,
        value: T,
        *,
        status: int,
        headers: Mapping[str, str] = _NO_HEADERS,
        elapsed: float = 0.0,
        attempts: int = 1,
        method: str = "GET",
        url: str = "",
    ) -> None:
        self._value = value
        self.status = status
        if not isinstance(headers, CIMultiDictProxy):
            headers = CIMultiDictProxy(CIMultiDict(headers))
        self.headers: CIMultiDictProxy[str] = headers
        self.request_id = request_id_of(headers, ())
        self.elapsed = elapsed
        self.attempts = attempts
        self.method = method
        self.url = url

    def parse(self) -> T:
        """The call's result: the object the plain call returns (``Sampler``, ``list[Run]`` ...)."""
        return self._value

    def _replace_value(self, value: U) -> RawResponse[U]:
        """The same answer around ``value`` (the sync client's iterator for an async one)."""
        twin: RawResponse[U] = RawResponse.__new__(RawResponse)
        for name in RawResponse.__slots__:
            setattr(twin, name, getattr(self, name))
        twin._value = value
        return twin

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status}] {self.method} {self.url}>"


class ResponseRecord:
    """What one raw call's requests saw, filled by the session (an out-parameter). Internal.

    Attributes:
        started: Event-loop time the call started (for ``elapsed``).
        attempts: Requests sent so far.
        status, headers, method, url: Of the latest 2xx answer (headers already made safe).

    """

    __slots__ = ("attempts", "headers", "method", "started", "status", "url")

    def __init__(self, started: float) -> None:
        self.started = started
        self.attempts = 0
        self.status = 0
        self.headers = _NO_HEADERS
        self.method = ""
        self.url = ""

    def answered(
        self,
        method: str,
        what: str,
        status: int,
        headers: Mapping[str, str],
        secrets: tuple[str, ...],
    ) -> None:
        """Keep a 2xx answer's metadata; ``what`` is ``"METHOD url"`` without the query."""
        self.method = method
        self.url = what.partition(" ")[2]
        self.status = status
        self.headers = safe_headers(headers, secrets)

    def response(self, value: T, now: float) -> RawResponse[T]:
        """``value`` with what was recorded, as of now (the record may go on being filled)."""
        return RawResponse(
            value,
            status=self.status,
            headers=self.headers,
            elapsed=now - self.started,
            attempts=self.attempts,
            method=self.method,
            url=self.url,
        )
