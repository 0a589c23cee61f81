"""The ``pytest11`` entry point: switches on :mod:`baseten_loops.pytest_plugin` when opted in.

An entry point is installed with every copy of the package, but the fixtures are opt-in. pip
does not record which extras were asked for, so "installed with the ``testing`` extra" is
read as "every requirement of the ``testing`` extra is installed", taken from this package's
own metadata (one list, in ``pyproject.toml``). Without that, nothing is registered, and
``-p baseten_loops.pytest_plugin`` switches the fixtures on explicitly.

The fixtures live in another module than this switch on purpose: pytest refuses one module
registered under two names, which ``-p baseten_loops.pytest_plugin`` next to an entry point
naming the same module would do. This switch registers the fixtures module under its module
name, so an explicit ``-p`` or ``pytest_plugins`` of it is simply a no-op.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from packaging.requirements import InvalidRequirement, Requirement

DISTRIBUTION = "aio-baseten-loops"
EXTRA = "testing"
PLUGIN_MODULE = "baseten_loops.pytest_plugin"


def extra_installed(distribution: str = DISTRIBUTION, extra: str = EXTRA) -> bool:
    """Whether every requirement of ``distribution[extra]`` is installed at a fitting version."""
    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return False
    needed = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            return False
        marker = requirement.marker
        # The extra's own requirements: not base ones (no marker, or a marker without `extra`).
        if (
            marker is not None
            and marker.evaluate({"extra": extra})
            and not marker.evaluate({"extra": ""})
        ):
            needed.append(requirement)
    if not needed:
        return False  # no such extra: nothing to have installed
    for requirement in needed:
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    """Register the fixtures module if the ``testing`` extra is installed (once, by name)."""
    if extra_installed():
        config.pluginmanager.import_plugin(PLUGIN_MODULE)
