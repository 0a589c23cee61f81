"""What keeps a paged listing (``Resource._iter_items``) from running away: no I/O here.

A listing follows ``next_page_token`` until it is null, so a server (or a cache in front of it)
decides how long it lasts. :class:`PageGuard` looks at each page's token and item count and
stops the listing with a :class:`ResponseValidationError` when it cannot end well:

- a token outside the spec: an offset below 0, an empty opaque token;
- a token that comes back (the listing would go round forever): one of the last
  :data:`REMEMBERED_TOKENS` exactly, and a cycle of any length within a few laps (Brent's
  cycle detection keeps one more token), so memory stays bounded however long the listing;
- :data:`MAX_EMPTY_PAGES` empty pages in a row, each with a new token: no progress.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from ._exceptions import ResponseValidationError
from ._sansio import scrub

__all__ = ["MAX_EMPTY_PAGES", "REMEMBERED_TOKENS", "PageGuard"]

#: Empty pages in a row, each handing out a new token, after which a listing is stopped.
MAX_EMPTY_PAGES = 10
#: How many of the latest tokens are remembered (as 16-byte digests) to catch one coming back.
REMEMBERED_TOKENS = 10_000


def _digest(token: int | str) -> bytes:
    # A digest, not the token: a server may send long tokens, and memory must stay bounded.
    return hashlib.blake2b(repr(token).encode(), digest_size=16).digest()


class PageGuard:
    """Checks each page of one listing; raises when the listing must stop.

    Args:
        what: The route's name, for messages (``"checkpoints.iter_files"``).
        token_kind: ``"offset"`` (integers >= 0; 0 is the first page) or ``"opaque"`` (a
            non-empty string handed back as it came).
        secrets: Blanked out of the tokens the messages quote.

    """

    def __init__(
        self, what: str, token_kind: Literal["offset", "opaque"], secrets: tuple[str, ...]
    ) -> None:
        self._what = what
        self._kind = token_kind
        self._secrets = secrets
        # Insertion-ordered, so the oldest is dropped first once REMEMBERED_TOKENS are held.
        self._recent: dict[bytes, None] = {}
        if token_kind == "offset":
            self._recent[_digest(0)] = None  # the first page, asked for without a token
        # Brent's cycle detection: one token kept from the past, replaced after 1, 2, 4, 8 ...
        # pages; a cycle longer than what _recent holds comes back to it within a few laps.
        self._anchor: bytes | None = None
        self._pages_since_anchor = 0
        self._anchor_span = 1
        self._empty_pages = 0

    def next_page(self, token: int | str, items: int) -> None:
        """Check the ``next_page_token`` (not null) of a page that held ``items`` items.

        Raises:
            ResponseValidationError: The token is outside the spec or was already followed,
                or too many empty pages came in a row.

        """
        if isinstance(token, int) and token < 0:
            raise self._error(token, "is not an offset (the spec's offsets are integers >= 0)")
        if self._kind == "opaque" and token == "":
            raise self._error(token, "is empty (a null token is what ends a listing)")
        digest = _digest(token)
        if digest in self._recent or digest == self._anchor:
            shown = self._quote(token)
            raise ResponseValidationError(
                f"invalid {self._what} response: next_page_token {shown} was already "
                "followed; stopping instead of listing the same pages forever",
                errors=(f"next_page_token: {shown} repeats an earlier token",),
            )
        self._remember(digest)
        self._empty_pages = 0 if items else self._empty_pages + 1
        if self._empty_pages >= MAX_EMPTY_PAGES:
            raise self._error(
                token,
                f"follows {MAX_EMPTY_PAGES} empty pages in a row; stopping a listing that "
                "makes no progress",
            )

    def _remember(self, digest: bytes) -> None:
        self._recent[digest] = None
        if len(self._recent) > REMEMBERED_TOKENS:
            del self._recent[next(iter(self._recent))]
        self._pages_since_anchor += 1
        if self._pages_since_anchor >= self._anchor_span:
            self._anchor = digest
            self._anchor_span *= 2
            self._pages_since_anchor = 0

    def _quote(self, token: object) -> str:
        return scrub(repr(token), self._secrets)

    def _error(self, token: object, complaint: str) -> ResponseValidationError:
        line = f"next_page_token: {self._quote(token)} {complaint}"
        return ResponseValidationError(f"invalid {self._what} response: {line}", errors=(line,))
