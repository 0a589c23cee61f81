"""Every exception this library raises, as one tree. Read top to bottom to pick what to catch.

::

    LoopsError
    ├── ConfigurationError (also ValueError)   bad api key / base URL / options
    ├── InvalidIdError (also ValueError)       a path id (run, session ...) naming no one object
    │   ├── IdTypeError (also TypeError)         ... because it is not a str
    │   └── InvalidSamplerIdError                a sampler id that cannot name one sampler
    │       └── SamplerIdTypeError (also TypeError)
    ├── APIConnectionError                     the request did not get an HTTP answer
    │   └── APITimeoutError (also TimeoutError)
    ├── APIStatusError                         the server answered with a non-2xx status
    │   ├── BadRequestError            400
    │   ├── AuthenticationError        401
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── UnprocessableEntityError   422
    │   ├── RateLimitError             429
    │   └── InternalServerError        5xx
    ├── ResponseValidationError                a 2xx body that does not match its schema
    │   └── ResponseTooLargeError              ... or is larger than the client reads
    ├── WaitFailedError                        a wait_until_... saw a failed status
    │   ├── SamplerFailedError                 ... of a sampler
    │   └── DeploymentFailedError              ... of a Loops deployment
    ├── WaitTimeoutError (also TimeoutError)   a wait_until_... ran out of time
    ├── ClientThrottledError                   not sent: paced, and told not to wait for a slot
    └── ClientClosedError                      the client was closed (before or during the call)

The API key is never reachable from an exception of this tree: not in its message, attributes
or repr, and not through ``__cause__`` / ``__context__`` (errors from aiohttp are described,
scrubbed, in the message instead of being chained, since they carry the request's headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from ._models import Deployment, Sampler

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "DeploymentFailedError",
    "IdTypeError",
    "InternalServerError",
    "InvalidIdError",
    "InvalidSamplerIdError",
    "LoopsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SamplerFailedError",
    "SamplerIdTypeError",
    "UnprocessableEntityError",
    "WaitFailedError",
    "WaitTimeoutError",
]


class LoopsError(Exception):
    """Base of every error this library raises: ``except LoopsError`` catches them all."""


class ConfigurationError(LoopsError, ValueError):
    """The client cannot be built as asked: no API key, an unsafe base URL, a bad option.

    Raised by ``LoopsClient(...)`` before any request is made.
    """


class InvalidIdError(LoopsError, ValueError):
    r"""An id for a path (``run_id``, ``session_id`` ...) that cannot name exactly one object.

    Empty or blank, ``.`` or ``..``, containing ``/``, ``\`` or control characters, or over
    256 characters. Raised before any I/O; the message names the parameter.
    """


class IdTypeError(InvalidIdError, TypeError):
    """An id for a path that is not a ``str`` (``None``, ``bytes``, an ``int`` ...)."""


class InvalidSamplerIdError(InvalidIdError):
    """A sampler id that cannot name exactly one sampler (empty, ``..``, contains ``/``, ...).

    Raised before any I/O. In bulk calls it fails only its own slot.
    """


class SamplerIdTypeError(InvalidSamplerIdError, IdTypeError):
    """A sampler id that is not a ``str`` (``None``, ``bytes``, an ``int`` ...)."""


class APIConnectionError(LoopsError):
    """No HTTP answer was received: DNS, refused or reset connection, TLS failure, timeout.

    Retried (except TLS/certificate failures) up to ``RetryPolicy.max_attempts``.
    """


class APITimeoutError(APIConnectionError, TimeoutError):
    """An attempt took longer than ``attempt_timeout``, or the call longer than its ``timeout``."""


class APIStatusError(LoopsError):
    """The server answered with a status other than 2xx (including 3xx: redirects are refused).

    Attributes:
        status_code: The HTTP status.
        request_id: The response's request-id header (``x-request-id`` and kin), if any.
        server_message: The ``message`` (or ``error``/``detail``) of a JSON error body, if any.
        body_excerpt: The first few hundred characters of the body, for diagnosis.
        retry_after: The server's Retry-After in seconds, if it sent a usable one.
        headers: The answer's headers: read-only, names ignoring case (``getall`` gives a
            repeated one); never a credential (``Authorization``, ``Proxy-Authorization``,
            ``Cookie``, ``Set-Cookie``) nor any header that holds the API key.

    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        server_message: str | None = None,
        body_excerpt: str = "",
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id
        self.server_message = server_message
        self.body_excerpt = body_excerpt
        self.retry_after = retry_after
        if not isinstance(headers, CIMultiDictProxy):
            headers = CIMultiDictProxy(CIMultiDict(headers or {}))
        self.headers: CIMultiDictProxy[str] = headers


class BadRequestError(APIStatusError):
    """400: the server rejected the request as malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked. Check ``BASETEN_API_KEY``."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope, or the sampler is outside the key's workspace."""


class NotFoundError(APIStatusError):
    """404: no sampler with this id (as far as this key can see)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the server understood the request but refused its content."""


class RateLimitError(APIStatusError):
    """429: too many requests. Retried, honouring Retry-After up to ``max_retry_after``."""


class InternalServerError(APIStatusError):
    """5xx: the server or a proxy in front of it failed. 500/502/503/504 are retried."""


class ResponseValidationError(LoopsError):
    """A 2xx response whose body is not JSON or does not match the sampler schema.

    The message names the failing field path, e.g. ``sampler.created_at: ...``. Never retried:
    asking again would get the same body.

    Attributes:
        errors: One line per problem found, each ``path: description``.

    """

    def __init__(self, message: str, *, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class ResponseTooLargeError(ResponseValidationError):
    """The body is larger than the client is willing to read (``max_response_bytes``)."""


class WaitFailedError(LoopsError):
    """A ``wait_until_...`` saw a status from which the object will not reach the one awaited.

    Raised at once, without waiting out the timeout.

    Attributes:
        last_seen: The object as last fetched, with the failed status.

    """

    def __init__(self, message: str, *, last_seen: object) -> None:
        super().__init__(message)
        self.last_seen = last_seen


class SamplerFailedError(WaitFailedError):
    """``wait_until_active`` saw a status from which the sampler will not become ACTIVE.

    Attributes:
        sampler: The sampler as last fetched, with the failed status.

    """

    def __init__(self, message: str, *, sampler: Sampler) -> None:
        super().__init__(message, last_seen=sampler)
        self.sampler = sampler


class DeploymentFailedError(WaitFailedError):
    """``deployments.wait_until_running`` saw ``FAILED``, ``STOPPED`` or ``PREEMPTED``.

    ``last_seen`` (also ``deployment``) is the deployment as last fetched.
    """

    @property
    def deployment(self) -> Deployment:
        """The deployment as last fetched, with the failed status."""
        return self.last_seen  # type: ignore[return-value]  # always given a Deployment


class WaitTimeoutError(LoopsError, TimeoutError):
    """A ``wait_until_...`` ran out of time before the object reached the awaited status.

    Attributes:
        resource_id: The id waited for.
        last_seen: The object as last fetched, or ``None`` if no fetch completed.
        sampler_id: For a sampler wait, the sampler id (else ``None``).
        last_sampler: For a sampler wait, the sampler as last fetched (else ``None``).

    """

    def __init__(
        self,
        message: str,
        *,
        sampler_id: str | None = None,
        last_sampler: Sampler | None = None,
        resource_id: str | None = None,
        last_seen: object = None,
    ) -> None:
        super().__init__(message)
        self.sampler_id = sampler_id
        self.last_sampler = last_sampler
        self.resource_id = resource_id if resource_id is not None else sampler_id
        self.last_seen = last_seen if last_seen is not None else last_sampler


class ClientThrottledError(LoopsError):
    """Not sent: the route is paced and ``FlowControl(wait_for_slot=False)`` refuses to wait.

    Attributes:
        retry_after: Seconds until the request would have had its sending slot, e.g. for a web
            service to answer its own caller ``429`` with ``Retry-After``.

    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClientClosedError(LoopsError):
    """The :class:`LoopsClient` was closed, before the call or while it was running.

    Raised instead of aiohttp's ``RuntimeError: Session is closed``; also raised when the
    ``aiohttp.ClientSession`` passed as ``session=`` has been closed, and by every method and
    unfinished iterator of a closed :class:`SyncLoopsClient`. Create a new client.
    """
