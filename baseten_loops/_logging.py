"""The ``BASETEN_LOOPS_LOG`` switch: the library's log records on stderr, without code.

As ``OPENAI_LOG`` does for openai, ``BASETEN_LOOPS_LOG=debug`` or ``=info`` sets the level of
the ``baseten_loops`` logger and gives it one stderr handler. It is read once per process, when
``baseten_loops`` is first imported (``__init__`` calls :func:`configure_from_env`): the
logger, which outlives any re-import of the package, remembers that it was, so a reload never
adds a second handler nor repeats the warning. Only that logger is touched, never the root
logger or the application's handlers. Any other value is ignored, with one warning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["ENV_VAR", "configure_from_env"]

ENV_VAR = "BASETEN_LOOPS_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_FORMAT = "[%(asctime)s - %(name)s - %(levelname)s] %(message)s"
# Set on the logger once the environment has been read: the logger is process-wide (logging's
# registry), this module is not (importlib.reload, a test clearing sys.modules).
_READ_MARK = "_baseten_loops_env_read"

logger = logging.getLogger("baseten_loops")


def configure_from_env(environ: Mapping[str, str] = os.environ) -> None:
    """Apply ``BASETEN_LOOPS_LOG`` to the ``baseten_loops`` logger, the first time only.

    ``debug`` or ``info`` (any case, spaces around ignored): that level, and a handler that
    writes to stderr. Unset or empty: nothing. Anything else: nothing, and one WARNING record
    on the logger saying what is accepted (shown on stderr when the application has configured
    no logging). The value is not quoted in it: a mistaken paste there may be a secret.
    """
    if getattr(logger, _READ_MARK, False):
        return
    setattr(logger, _READ_MARK, True)
    value = environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        logger.warning(
            "%s is set to a value other than 'debug' or 'info'; it is ignored and the "
            "library's logging stays as configured",
            ENV_VAR,
        )
        return
    handler = logging.StreamHandler()  # sys.stderr
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level)
