"""The ``baseten-loops`` command line (also ``python -m baseten_loops``).

``samplers get`` and ``samplers wait`` are written out (``_samplers``); the everyday verbs (list,
get, create, deactivate, files, logs of samplers, runs, sessions, checkpoints and deployments) are
declared in ``_verbs.VERBS`` and run by ``_verbs._run_verb``.

Exit codes: 0 success; 1 a request failed (each failure on stderr, successes still printed);
2 usage or configuration errors, and a refused API key (401); 130 Ctrl-C; 141 stdout closed by
its reader (``| head -1``), ended quietly. Tables and progress bars use rich
when it is installed (``pip install 'aio-baseten-loops[cli]'``) and plain text otherwise.

Every string that comes from the server or from an ids file is shown through
``_escape._shown``: control characters escaped, never read as rich markup.

The modules, one concern each:

- ``_main``: :func:`main`, the tree of commands and groups.
- ``_exit``: the exit codes and the usage error that ends a command with code 2.
- ``_options``: the help format, number arguments, the client options and what they read
  (the API key, ids files) into a client.
- ``_escape``: server and file text made safe for a terminal.
- ``_render``: results on stdout: JSON, JSON Lines, tables and their cells.
- ``_progress``: bulk lookups' progress bar on a terminal (rich) and their errors, on stderr.
- ``_samplers``: ``samplers get`` and ``samplers wait``.
- ``_verbs``: the declared everyday verbs and the one function that runs them.
- ``_fake``: ``fake-server`` and ``demo``, and the objects the docs' examples use, which
  ``fake-server`` serves and the docs' tests seed (``_seed_examples``).
"""

from ._main import main

__all__ = ["main"]
