from __future__ import annotations

import pytest
from multidict import CIMultiDict

from baseten_loops import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidSamplerIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SamplerIdTypeError,
    UnprocessableEntityError,
    __version__,
)
from baseten_loops._sansio import (
    QUOTE_CHARS,
    build_headers,
    check_base_url,
    check_timeout,
    error_for_response,
    path_segment,
    scrub,
)

PREFIX = "/v1/loops/samplers/"


def sampler_path(sampler_id: object) -> str:
    """The path ``samplers.get`` asks for (the id validated and encoded by path_segment)."""
    return PREFIX + path_segment(sampler_id, "sampler_id")


@pytest.mark.parametrize(
    ("sampler_id", "segment"),
    [
        ("abc123", "abc123"),
        ("x?y", "x%3Fy"),
        ("x#y", "x%23y"),
        ("%2e%2e", "%252e%252e"),
        ("a b", "a%20b"),
        ("a-b_c.d", "a-b_c.d"),
        ("...", "..."),
        ("caf\u00e9", "caf%C3%A9"),
    ],
)
def test_sampler_id_becomes_one_encoded_segment(sampler_id: str, segment: str) -> None:
    path = sampler_path(sampler_id)
    assert path == PREFIX + segment
    assert "/" not in path[len(PREFIX) :]


@pytest.mark.parametrize(
    "sampler_id",
    ["a/b", "../x", "..", ".", "a\\b", "x\ny", "x\r\nHost: evil", "\x00", "x" * 5000],
)
def test_ids_that_could_escape_the_path_are_refused(sampler_id: str) -> None:
    with pytest.raises(InvalidSamplerIdError) as info:
        sampler_path(sampler_id)
    assert isinstance(info.value, ValueError)
    assert len(str(info.value)) < 300  # a 5,000-char id is not echoed whole


@pytest.mark.parametrize("sampler_id", ["", " ", "\t\n", "   "])
def test_empty_or_blank_ids_are_value_errors(sampler_id: str) -> None:
    with pytest.raises(ValueError, match="empty or blank"):
        sampler_path(sampler_id)


@pytest.mark.parametrize("sampler_id", [None, 123, b"abc", ["abc"]])
def test_non_str_ids_are_type_errors(sampler_id: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        sampler_path(sampler_id)
    with pytest.raises(SamplerIdTypeError):
        sampler_path(sampler_id)


def test_str_subclass_ids_are_accepted() -> None:
    class Id(str):
        pass

    assert sampler_path(Id("abc")) == PREFIX + "abc"


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.baseten.co", "https://api.baseten.co"),
        ("https://api.baseten.co/", "https://api.baseten.co"),
        ("https://proxy.example.com/baseten/", "https://proxy.example.com/baseten"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.1.2.3:8080", "http://127.1.2.3:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_base_urls_accepted(base_url: str, expected: str) -> None:
    assert check_base_url(base_url) == expected


@pytest.mark.parametrize(
    ("base_url", "complaint"),
    [
        ("http://api.baseten.co", "unencrypted"),
        ("http://10.0.0.1", "unencrypted"),
        ("http://localhost.evil.com", "unencrypted"),
        ("ftp://api.baseten.co", "absolute http"),
        ("api.baseten.co", "absolute http"),
        ("https://user:pw@api.baseten.co", "credentials"),
        ("https://api.baseten.co/?x=1", "query"),
        ("https://api.baseten.co/#frag", "fragment"),
        ("https://api.baseten.co/v1", "ends in /v1"),
        ("https://gateway.example/baseten/v1/", "ends in /v1"),
    ],
)
def test_unsafe_base_urls_are_refused(base_url: str, complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        check_base_url(base_url)


def test_non_str_base_url_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a str"):
        check_base_url(42)  # type: ignore[arg-type]


def test_headers_carry_auth_and_name_the_library() -> None:
    headers = build_headers("k", "Api-Key")
    assert headers["Authorization"] == "Api-Key k"
    assert headers["User-Agent"].startswith(f"baseten_loops/{__version__}")
    assert headers["Accept"] == "application/json"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (503, InternalServerError),
        (599, InternalServerError),
        (301, APIStatusError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_its_error_class(status: int, cls: type[APIStatusError]) -> None:
    error = error_for_response(status, CIMultiDict(), b"", method="GET", url="/p")
    assert type(error) is cls
    assert error.status_code == status


def test_error_carries_server_message_request_id_and_retry_after() -> None:
    headers = CIMultiDict({"X-Request-Id": "req-42", "Retry-After": "3"})
    body = b'{"error": "rate_limited", "message": "Slow down"}'
    error = error_for_response(429, headers, body, method="GET", url="/v1/x")
    assert str(error) == "429 Too Many Requests for GET /v1/x: Slow down [request id req-42]"
    assert error.server_message == "Slow down"
    assert error.request_id == "req-42"
    assert error.retry_after == 3.0
    assert error.body_excerpt == body.decode()


def test_error_code_is_used_when_there_is_no_message() -> None:
    error = error_for_response(400, CIMultiDict(), b'{"error": "bad_id"}', method="GET", url="/")
    assert error.server_message == "bad_id"


def test_html_error_pages_are_kept_out_of_the_message_but_in_the_excerpt() -> None:
    body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    error = error_for_response(502, CIMultiDict(), body, method="GET", url="/p")
    assert str(error) == "502 Bad Gateway for GET /p"
    assert "Bad Gateway" in error.body_excerpt


def test_plain_text_body_is_quoted_in_the_message() -> None:
    error = error_for_response(500, CIMultiDict(), b"upstream exploded", method="GET", url="/p")
    assert str(error) == "500 Internal Server Error for GET /p: upstream exploded"


def test_redirect_names_its_target_and_is_not_followed() -> None:
    headers = CIMultiDict({"Location": "https://elsewhere.example/steal"})
    error = error_for_response(302, headers, b"", method="GET", url="/p")
    assert "redirect to 'https://elsewhere.example/steal' not followed" in str(error)


def test_secret_echoed_by_a_server_is_blanked() -> None:
    body = b'{"message": "bad header Bearer sk-secret-123"}'
    error = error_for_response(
        400, CIMultiDict(), body, method="GET", url="/p", secret="sk-secret-123"
    )
    assert "sk-secret-123" not in str(error)
    assert "sk-secret-123" not in error.body_excerpt
    assert "***" in str(error)


def test_long_bodies_are_cut_to_an_excerpt() -> None:
    error = error_for_response(500, CIMultiDict(), b"x" * 100_000, method="GET", url="/p")
    assert len(error.body_excerpt) == 300
    assert len(str(error)) < 200


def test_undecodable_error_body_does_not_raise() -> None:
    error = error_for_response(500, CIMultiDict(), b"\xff\xfe\xfa", method="GET", url="/p")
    assert error.status_code == 500


# -- scrub: the one way a message quotes the server -----------------------------------------

SECRET = "sk-scrub-0123456789abcdef"


def test_scrub_leaves_short_clean_text_alone() -> None:
    assert scrub("sampler 'abc' is DEPLOYING", (SECRET,)) == "sampler 'abc' is DEPLOYING"


def test_scrub_cuts_long_text_and_marks_the_cut() -> None:
    assert scrub("a" * 1000, (), limit=50) == "a" * 47 + "..."
    assert len(scrub("a" * 10**6, (SECRET,))) == QUOTE_CHARS


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        SECRET.upper(),
        "".join(f"%{byte:02x}" for byte in SECRET.encode()),
        "".join(f"&#{ord(char)};" for char in SECRET),
    ],
)
def test_a_secret_across_the_cut_is_blanked_whole(form: str) -> None:
    # The secret starts 10 characters before the cut: none of it may show.
    text = "x" * 40 + form + "y" * 1000
    scrubbed = scrub(text, (SECRET,), limit=53)
    assert scrubbed == "x" * 40 + "***" + "y" * 7 + "..."


def test_a_fragment_of_a_secret_left_by_the_server_is_blanked() -> None:
    assert scrub("token " + SECRET[:9], (SECRET,)) == "token ***"


def test_every_duration_check_names_its_parameter() -> None:
    with pytest.raises(ConfigurationError, match=r"^poll_interval must be finite and > 0, got nan"):
        check_timeout(float("nan"), "poll_interval")
    with pytest.raises(ConfigurationError, match=r"^timeout must be a number of seconds, got 'x"):
        check_timeout("x" * 500)
