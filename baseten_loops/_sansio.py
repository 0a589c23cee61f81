"""Pure request building and response reading: no sockets, no event loop.

Where a request is built (:func:`path_segment`, :func:`check_base_url`,
:func:`build_headers`, :func:`check_headers`, :func:`resolve_proxy`; a route's whole request in
``_routes.py``), where an HTTP answer becomes an exception (:func:`error_for_response`), and
how secrets are kept out of text taken from the server (:func:`scrub`, every error message's
one way to quote it; :func:`redact` underneath).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import quote
from urllib.request import (  # type: ignore[attr-defined]  # not in typeshed
    getproxies_environment,
    proxy_bypass_environment,
)

from multidict import CIMultiDict, CIMultiDictProxy
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

USER_AGENT = f"baseten_loops/{__version__} (+aio-baseten-loops)"
#: Longest sampler id accepted. Real ids are short hashids; this only stops absurd input.
MAX_SAMPLER_ID_LENGTH = 256
_BODY_EXCERPT_CHARS = 300
#: Longest piece of server text (an id, a status, a page token, a field's value, a request id
#: or Location header) quoted in one error: long enough to recognise it, short enough that
#: scrubbing it stays cheap.
QUOTE_CHARS = 200
_CUT_MARK = "..."
#: Most characters one character of a secret takes in any form redact() knows ("%f4%8f%bf%bf").
_FORM_CHARS = 12
_REDACTED = "***"
#: Shortest run of a secret's characters blanked on its own (a key quoted cut short).
_FRAGMENT_CHARS = 8
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


def path_segment(value: object, parameter: str) -> str:
    r"""Validate an id and encode it as exactly one path segment.

    Refused: an id that is not a ``str`` (:class:`IdTypeError`), and one that is empty or
    blank, is ``.`` or ``..``, contains ``/``, ``\`` or a control character (CR/LF included), or
    is longer than 256 characters (:class:`InvalidIdError`); the message names ``parameter``. A
    ``sampler_id`` fails with the subclasses :class:`SamplerIdTypeError` /
    :class:`InvalidSamplerIdError`. Any other character (``?``, ``#``, ``%``, spaces, unicode)
    is percent-encoded, so it can never change the path.
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
    if url.path.rstrip("/").endswith("/v1"):
        # Every path the client sends starts with /v1: this one would go to /v1/v1/...
        raise ConfigurationError(
            f"base_url {base_url!r} ends in /v1, and every request adds /v1/loops/... to it: "
            "pass the API root, e.g. https://api.baseten.co"
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            f"refusing plain http:// to non-loopback host {url.host!r}: the API key would "
            "travel unencrypted. Use https://, or http:// only for 127.0.0.1, ::1 or localhost."
        )
    return str(url).rstrip("/")


def resolve_proxy(proxy: str | None, *, trust_env: bool, base_url: str) -> URL | None:
    """The proxy requests to ``base_url`` go through, or ``None`` to connect directly.

    An explicit ``proxy`` wins. Otherwise, with ``trust_env``, the standard environment
    variables are read (``HTTPS_PROXY`` / ``HTTP_PROXY`` for the base URL's scheme, and
    ``NO_PROXY``), once, when the client is built. A loopback base URL
    never takes a proxy from the environment: it is plain ``http://``, and the key must not
    travel in clear text to another host. Raises :class:`ConfigurationError` for a proxy that is
    not an ``http(s)://host[:port]`` URL, and for a non-loopback proxy in front of a plain
    ``http://`` base URL. Error messages never show the proxy's credentials.
    """
    base = URL(base_url)
    source = "proxy"
    if proxy is None:
        if not trust_env or base.host is None or _is_loopback(base.host):
            return None
        found = _environment_proxy(base)
        if found is None:
            return None
        source, proxy = found
    elif not isinstance(proxy, str):
        raise ConfigurationError(f"proxy must be a str URL or None, got {type(proxy).__name__}")
    url = _parse_url(proxy)
    if url is None:  # raised here, not under except: yarl's error quotes the credentials
        raise ConfigurationError(f"{source} is not a valid URL")
    shown = str(url.with_user(None)) if url.host else "(no host)"
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"{source} must be an http:// or https:// proxy URL such as http://proxy:3128, "
            f"got {shown}"
        )
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ConfigurationError(f"{source} must not have a path, query or fragment: {shown}")
    if base.scheme == "http" and not _is_loopback(url.host):
        raise ConfigurationError(
            f"refusing the non-loopback {source} {shown} for a plain http:// base_url: "
            "the API key would travel unencrypted"
        )
    return url


def _parse_url(text: str) -> URL | None:
    try:
        return URL(text.strip())
    except (ValueError, TypeError):
        return None


def _environment_proxy(base: URL) -> tuple[str, str] | None:
    """``(variable name, proxy URL)`` from the environment for ``base``, or ``None``."""
    assert base.host is not None
    proxies = getproxies_environment()  # urllib's rules: lower case wins over upper case
    if "no" in proxies and proxy_bypass_environment(base.host, proxies):
        return None
    proxy = proxies.get(base.scheme)
    if proxy is None:
        return None
    if "://" not in proxy:  # "proxy.corp:3128", as curl and requests accept it
        proxy = "http://" + proxy
    return f"{base.scheme.upper()}_PROXY", proxy


class Secrets(tuple[str, ...]):
    """The strings :func:`redact` blanks out (the key, a proxy password); its repr hides them.

    Passed as an argument, it sits in the frame's locals, which ``traceback`` with
    ``capture_locals=True`` prints with ``repr``: this one prints no secret.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} secrets>"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    r"""``text`` with every occurrence of each secret replaced by ``***``.

    Catches the forms in which a server or proxy might echo a secret back: literal, JSON
    ``\uXXXX`` escapes, percent-encoding (``%73k-...``), HTML character references, in any
    mix and any letter case. Text that was already decoded (a JSON string, a header value) is
    covered by the literal form. A run of 8 or more characters of a secret is blanked too, for a
    key that whoever quoted it cut short (aiohttp cuts the lines it quotes at 100 bytes).
    Meant for short strings (its fragment pass is linear but slow, about 8 ms per 64 KiB).
    """
    return _blank_fragments(_redact_forms(text, secrets), secrets)


def scrub(text: str, secrets: tuple[str, ...], *, limit: int = QUOTE_CHARS) -> str:
    """Server text made fit to quote in an error message or attribute: the one way to do it.

    Every secret is blanked as :func:`redact` does, and the text is cut to at most ``limit``
    characters (a cut ends with ``...``). Whole secrets are blanked before the cut, so that it
    cannot split one, in a window just long enough to hold any encoded form of a secret that
    starts before the cut; the slower fragment pass then runs on the short text only. The cost
    depends on ``limit`` and the secrets, not on how long the server's text is.
    """
    window = limit + _FORM_CHARS * max(map(len, secrets), default=0)
    cut = len(text) > window
    text = _redact_forms(text[:window], secrets)
    if cut or len(text) > limit:
        text = text[: max(0, limit - len(_CUT_MARK))] + _CUT_MARK
    return _blank_fragments(text, secrets)


def _redact_forms(text: str, secrets: tuple[str, ...]) -> str:
    """The fast, whole-secret part of :func:`redact` (a regular expression, in C)."""
    pattern = _secrets_pattern(secrets)
    return text if pattern is None else pattern.sub(_REDACTED, text)


def _blank_fragments(text: str, secrets: tuple[str, ...]) -> str:
    windows = _secret_windows(secrets)
    if not windows:
        return text
    width = _FRAGMENT_CHARS
    spans: list[list[int]] = []
    for start in range(len(text) - width + 1):
        if text[start : start + width] in windows:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = start + width  # overlaps the previous run: extend it
            else:
                spans.append([start, start + width])
    for start, end in reversed(spans):
        text = text[:start] + _REDACTED + text[end:]
    return text


@functools.lru_cache(maxsize=16)
def _secret_windows(secrets: tuple[str, ...]) -> frozenset[str]:
    width = _FRAGMENT_CHARS
    return frozenset(
        secret[start : start + width]
        for secret in secrets
        for start in range(len(secret) - width + 1)
    )


@functools.lru_cache(maxsize=16)
def _secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    # Longest first, so a secret that contains another is blanked whole.
    kept = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
    if not kept:
        return None
    alternatives = ("".join(_char_forms(char) for char in secret) for secret in kept)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _char_forms(char: str) -> str:
    code = ord(char)
    forms = [re.escape(char), "".join(f"%{byte:02x}" for byte in char.encode())]
    forms.append(f"&#0*{code};")
    forms.append(f"&#x0*{code:x};")
    if code < 0x10000:
        forms.append(rf"\\u{code:04x}")
    if char in '/"\\':
        forms.append(re.escape("\\" + char))
    return "(?:" + "|".join(forms) + ")"


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


#: Headers a caller may not set: the credentials (the client's key is the only one sent) and
#: those that frame the message (aiohttp computes them; a wrong one corrupts the request).
RESERVED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "host", "content-length", "transfer-encoding"}
)
#: A header name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: A header value: visible Latin-1 characters, spaces and tabs; never CR, LF, NUL or others.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def check_timeout(timeout: object, name: str = "timeout") -> None:
    """Refuse a duration that is not a finite number of seconds > 0 (bools included).

    The one check of every ``timeout=`` (and ``poll_interval=``) a public method takes, made
    before any I/O; ``name`` is the parameter the message names.

    Raises:
        ConfigurationError: It is not (also a ``ValueError``).

    """
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, got {timeout!r:.80}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ConfigurationError(f"{name} must be finite and > 0, got {timeout!r}")


def check_headers(headers: object, option: str) -> dict[str, str]:
    """Validate extra headers given by the caller and return them as a new ``dict``.

    Names are RFC 9110 tokens, values strings without control characters (no CR or LF: a
    header cannot smuggle another one in). :data:`RESERVED_HEADERS`, in any case, are refused:
    nothing may replace the ``Authorization`` the client builds from its key.

    Raises:
        ConfigurationError: Not a mapping of ``str`` to ``str``, a reserved or malformed name,
            or a value with control characters. Values are never quoted (one may be a secret).

    """
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            f"{option} must be a mapping of header names to values, got {type(headers).__name__}"
        )
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise ConfigurationError(f"{option}: {name!r:.80} is not a valid header name")
        if name.lower() in seen:
            raise ConfigurationError(f"{option} names {name!r} twice (header names ignore case)")
        seen.add(name.lower())
        if name.lower() in RESERVED_HEADERS:
            raise ConfigurationError(
                f"{option} cannot set {name!r}: the client sets it itself"
                + (" from its API key" if name.lower() == "authorization" else "")
            )
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise ConfigurationError(
                f"{option}: the value of {name!r} must be a str without control characters "
                "(CR, LF, NUL ...)"
            )
        checked[name] = value
    return checked


def merge_headers(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` with ``extra`` on top, names compared case-insensitively (as HTTP does).

    A plain ``{**base, **extra}`` would keep both ``User-Agent`` and ``user-agent`` and send
    the header twice.
    """
    replaced = {name.lower() for name in extra}
    merged = {name: value for name, value in base.items() if name.lower() not in replaced}
    merged.update(extra)
    return merged


def error_for_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str,
    url: str,
    secret: str | tuple[str, ...] = "",
) -> APIStatusError:
    """Map a non-2xx answer to the matching :class:`APIStatusError` subclass.

    ``secret`` (the API key, or several secrets) is blanked out of every string taken from the
    answer (body excerpt, JSON message after decoding, request id, ``Location``) in any form
    :func:`redact` knows, in case a server or proxy echoes the request back; each is cut
    (:func:`scrub`). A body nested too
    deeply to decode gives no server message, like any other body that is not JSON.
    """
    secrets = (secret,) if isinstance(secret, str) else secret
    cls = _ERROR_CLASSES.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    raw_text = body.decode("utf-8", "replace")
    excerpt = scrub(raw_text.strip(), secrets, limit=_BODY_EXCERPT_CHARS)
    server_message = _server_message(raw_text)
    if server_message is not None:
        server_message = scrub(server_message, secrets, limit=_BODY_EXCERPT_CHARS)
    request_id = request_id_of(headers, secrets)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    reason = _reason(status)
    message = f"{status}{' ' + reason if reason else ''} for {method} {url}"
    if 300 <= status < 400:
        location = scrub(headers.get("Location", ""), secrets)
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
        headers=safe_headers(headers, secrets),
    )


#: Answer headers never shown (``RawResponse.headers``, ``APIStatusError.headers``).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def safe_headers(headers: Mapping[str, str], secrets: tuple[str, ...]) -> CIMultiDictProxy[str]:
    """An answer's headers fit to show: read-only, names ignoring case, repeats kept.

    Left out: :data:`CREDENTIAL_HEADERS`, and every header whose name or value holds a secret
    (the key echoed back, in any form :func:`redact` knows, even cut short). Left out rather
    than blanked: a header that was changed would read as what the server sent.
    """
    kept: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if name.lower() in CREDENTIAL_HEADERS:
            continue
        if secrets and (redact(value, secrets) != value or redact(name, secrets) != name):
            continue
        kept.add(name, value)
    return CIMultiDictProxy(kept)


def request_id_of(headers: Mapping[str, str], secrets: tuple[str, ...]) -> str | None:
    """The answer's request id (``x-request-id`` and kin), fit to quote, or ``None``.

    ``headers`` must compare names ignoring case (aiohttp's and :func:`safe_headers`' do).
    """
    request_id = next((headers[h] for h in _REQUEST_ID_HEADERS if h in headers), None)
    return None if request_id is None else scrub(request_id, secrets)


def _server_message(text: str) -> str | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested thousands of levels deep
        return None
    if not isinstance(data, dict):
        return None
    for key in ("message", "detail", "error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _looks_like_html(text: str) -> bool:
    head = text[:100].lstrip().lower()
    return head.startswith(("<!doctype", "<html", "<"))
