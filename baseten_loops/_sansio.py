"""Pure request building and response reading: no sockets, no event loop.

Where a request is built (:func:`sampler_path`, :func:`path_segment`, :func:`check_base_url`,
:func:`build_headers`; a route's whole request in ``_routes.py``)
and where an HTTP answer becomes an exception (:func:`error_for_response`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import quote

from yarl import URL

from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    IdTypeError,
    InternalServerError,
    InvalidIdError,
    InvalidSamplerIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SamplerIdTypeError,
    UnprocessableEntityError,
)
from ._retry import parse_retry_after
from ._version import __version__

SAMPLERS_PATH = "/v1/loops/samplers/"
USER_AGENT = f"baseten_loops/{__version__} (+aio-baseten-loops)"
#: Longest sampler id accepted. Real ids are short hashids; this only stops absurd input.
MAX_SAMPLER_ID_LENGTH = 256
_BODY_EXCERPT_CHARS = 300
_REQUEST_ID_HEADERS = ("x-request-id", "x-baseten-request-id", "request-id", "x-amzn-requestid")
_ERROR_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def sampler_path(sampler_id: object) -> str:
    r"""The path of one sampler, with the id as exactly one percent-encoded segment.

    Raises :class:`SamplerIdTypeError` for a non-``str`` id and :class:`InvalidSamplerIdError`
    for an id that is empty or blank, is ``.`` or ``..``, contains ``/``, ``\`` or a control
    character (CR/LF included), or is longer than 256 characters. Any other character
    (``?``, ``#``, ``%``, spaces, unicode) is percent-encoded, so it can never change the path.
    """
    return SAMPLERS_PATH + path_segment(sampler_id, "sampler_id")


def path_segment(value: object, parameter: str) -> str:
    r"""Validate an id and encode it as exactly one path segment.

    The rules of :func:`sampler_path` hold for every id in a path. A ``sampler_id`` fails with
    :class:`SamplerIdTypeError` / :class:`InvalidSamplerIdError`; any other id with
    :class:`IdTypeError` / :class:`InvalidIdError`, whose message names ``parameter``.
    """
    if type(value) is not str:
        if isinstance(value, str):  # a str subclass: use its plain value
            value = str.__str__(value)
        else:
            type_error, _, label = _ID_ERRORS.get(parameter, _ANY_ID_ERRORS)
            raise type_error(f"{label or parameter} must be a str, got {type(value).__name__}")
    assert isinstance(value, str)
    if value.isalnum() and value.isascii() and len(value) <= MAX_SAMPLER_ID_LENGTH:
        return value  # the common case: nothing to check or encode
    return quote(_check_id(value, parameter), safe="")


# Sampler ids keep the errors (and wording) they had before other ids were validated too.
_ANY_ID_ERRORS: tuple[type[IdTypeError], type[InvalidIdError], str] = (
    IdTypeError,
    InvalidIdError,
    "",
)
_ID_ERRORS: dict[str, tuple[type[IdTypeError], type[InvalidIdError], str]] = {
    "sampler_id": (SamplerIdTypeError, InvalidSamplerIdError, "sampler id"),
}


def _check_id(value: str, parameter: str) -> str:
    _, invalid, label = _ID_ERRORS.get(parameter, _ANY_ID_ERRORS)
    label = label or parameter
    shown = repr(value) if len(value) <= 60 else repr(value[:60]) + "..."
    if not value.strip():
        raise invalid(f"{label} must not be empty or blank, got {shown}")
    if len(value) > MAX_SAMPLER_ID_LENGTH:
        raise invalid(
            f"{label} is {len(value)} characters long; at most "
            f"{MAX_SAMPLER_ID_LENGTH} are accepted: {shown}"
        )
    if value in (".", ".."):
        raise invalid(f"{label} {shown} would name another path")
    if "/" in value or "\\" in value:
        raise invalid(f"{label} {shown} must not contain '/' or '\\'")
    if not value.isprintable():
        raise invalid(f"{label} {shown} contains control characters")
    return value


def check_base_url(base_url: str) -> str:
    """Validate the API's base URL and return it without a trailing slash.

    ``https://`` is required, except for loopback hosts (127.0.0.0/8, ::1, localhost), where
    ``http://`` is allowed for tests and local proxies: the key never travels in clear text to a
    remote host. User info, query strings and fragments are refused.
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a str, got {type(base_url).__name__}")
    try:
        url = URL(base_url.strip())
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"base_url {base_url!r} is not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as https://api.baseten.co, "
            f"got {base_url!r}"
        )
    if url.user is not None or url.password is not None:
        raise ConfigurationError("base_url must not contain credentials; pass api_key instead")
    if url.query_string or url.fragment:
        raise ConfigurationError(f"base_url must not have a query or fragment: {base_url!r}")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            f"refusing plain http:// to non-loopback host {url.host!r}: the API key would "
            "travel unencrypted. Use https://, or http:// only for 127.0.0.1, ::1 or localhost."
        )
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def build_headers(api_key: str, auth_scheme: str) -> dict[str, str]:
    """The headers sent with every request (built once per client)."""
    return {
        "Authorization": f"{auth_scheme} {api_key}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


def error_for_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    path: str,
    secret: str = "",
) -> APIStatusError:
    """Map a non-2xx answer to the matching :class:`APIStatusError` subclass.

    ``secret`` (the API key) is blanked out of anything quoted from the body, in case a server
    or proxy echoes the request back.
    """
    cls = _ERROR_CLASSES.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    text = body.decode("utf-8", "replace")
    if secret:
        text = text.replace(secret, "***")
    excerpt = text[:_BODY_EXCERPT_CHARS].strip()
    server_message = _server_message(text)
    request_id = next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), None)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    reason = _reason(status)
    message = f"{status}{' ' + reason if reason else ''} for {method} {path}"
    if 300 <= status < 400:
        location = headers.get("Location", "")
        message += f" (redirect to {location!r} not followed)" if location else " (redirect)"
    if server_message:
        message += f": {server_message}"
    elif excerpt and not _looks_like_html(excerpt):
        message += f": {excerpt[:120]}"
    if request_id:
        message += f" [request id {request_id}]"
    return cls(
        message,
        status_code=status,
        request_id=request_id,
        server_message=server_message,
        body_excerpt=excerpt,
        retry_after=retry_after,
    )


def _server_message(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("message", "detail", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:_BODY_EXCERPT_CHARS]
    return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _looks_like_html(text: str) -> bool:
    head = text[:100].lstrip().lower()
    return head.startswith(("<!doctype", "<html", "<"))
