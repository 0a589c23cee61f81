"""What the child of ``os.fork()`` does with the event loops and connections it inherits.

Only the thread that forked goes on in the child: a loop that ran in another thread of the parent
never runs here, and its copy shares the parent's file descriptors (its selector, its wake-up
pipe, the sockets of its connections). Acting on them from the child would act on the parent's:
closing a connection's copy sends a TLS close_notify on the parent's connection or takes its
socket out of the parent's epoll set (shared across fork). So the objects that own such state
register a method here, which the child calls right after the fork to start afresh, leaving
the parent's things as they are.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["abandon_loop", "call_in_forked_child"]

#: The methods to call in a forked child, held weakly: an object that is gone is not called.
_IN_CHILD: set[weakref.WeakMethod[Callable[[], None]]] = set()


def call_in_forked_child(method: Callable[[], None]) -> None:
    """Call the bound ``method`` in the child of every later ``os.fork()``, while its object lives.

    It runs before ``os.fork()`` returns in the child, when that child has one thread.
    """
    _IN_CHILD.add(weakref.WeakMethod(method, _IN_CHILD.discard))


def _after_fork_in_child() -> None:
    for reference in list(_IN_CHILD):
        method = reference()
        if method is not None:
            method()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


def abandon_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Silence the child's copy of an event loop of the parent; it is never run or closed.

    What is left on it (pending tasks, unclosed sessions) reports itself through the loop's
    exception handler when collected ("Task was destroyed but it is pending!"): true of the
    copy, meaningless to the child, which never runs it.
    """
    loop.set_exception_handler(_ignore_loop_error)


def _ignore_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    return None
