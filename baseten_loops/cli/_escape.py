"""Showing untrusted text: every string from the server or an ids file passes through here.

Ids, error messages, statuses and table cells are all shown with :func:`_shown` (or
:func:`_shown_id` / :func:`_error_line`, built on it) before they reach a terminal.
"""

from __future__ import annotations

#: How much of an id is echoed in a message: enough to recognise it, never a whole huge line.
SHOWN_ID_CHARS = 80
#: How much of an error message is echoed (server text is already bounded by the library).
SHOWN_MESSAGE_CHARS = 500


def _shown(text: str, limit: int = SHOWN_MESSAGE_CHARS) -> str:
    r"""``text`` made safe for a terminal: at most ``limit`` characters, none of them control.

    Every character that is not printable (C0/C1 controls such as ESC, ``\r``, bidi overrides
    such as U+202E, zero-width and line separators) is written as its Python escape
    (``\x1b``, ``\r``, ``\u202e``), so a server cannot set the window title, move the cursor
    or fake output. Ordinary unicode stays as it is. The result is plain text: print it with
    ``print`` or as a ``rich.text.Text``, never as rich markup.
    """
    length = len(text)
    if length > limit:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return f"{text}... ({length} characters in all)" if length > limit else text


def _shown_id(sampler_id: str) -> str:
    return _shown(sampler_id, SHOWN_ID_CHARS)


def _error_line(sampler_id: str, error: BaseException) -> str:
    return f"error: {_shown_id(sampler_id)}: {_shown(str(error))}"
