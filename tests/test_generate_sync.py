"""The generator of the sync twin (baseten_loops/_generate_sync.py), on copies of the source."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import baseten_loops
from baseten_loops._generate_sync import OUTPUT, GeneratorError, generate, main

PACKAGE = Path(baseten_loops.__file__).parent


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the async source the generator reads: _client.py and _resources/."""
    copy = tmp_path / "baseten_loops"
    copy.mkdir()
    shutil.copy(PACKAGE / "_client.py", copy / "_client.py")
    shutil.copytree(PACKAGE / "_resources", copy / "_resources")
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def _add_to_runs(package: Path, code: str) -> None:
    """Append methods (indented as in the class) to RunsResource, before TrainersResource."""
    _edit(
        package / "_resources" / "runs.py",
        "\n\nclass TrainersResource",
        code + "\n\nclass TrainersResource",
    )


def test_generating_from_a_copy_gives_the_file_on_disk(package: Path) -> None:
    assert generate(package) == OUTPUT.read_text()


def test_the_bulk_methods_of_another_group_get_paced_typed_twins(package: Path) -> None:
    # runs has get_many/iter_many, as samplers has them (issue 16).
    generated = generate(package)
    runs = generated.split("class SyncRunsResource")[1].split("\nclass ")[0]
    assert "    ) -> SyncIterator[tuple[str, Run | LoopsError]]:" in runs
    assert "            PacedIds(ids),\n            concurrency=concurrency," in runs
    assert runs.count("    @overload\n    def get_many(") == 2
    assert '"Callable[..., Awaitable[list[Run] | list[Run | LoopsError]]]"' in runs
    assert "from . import _bulk" in generated
    compile(generated, "_sync_generated.py", "exec")  # and it is Python


def test_a_group_twins_the_bulk_lookups_it_inherits_with_its_model(package: Path) -> None:
    # Written once in LookupsById[T]; each group's twin writes them out with its model.
    generated = generate(package)
    assert "list[T]" not in generated
    assert "tuple[str, T |" not in generated
    for group, model in [("Samplers", "Sampler"), ("Sessions", "Session")]:
        twin = generated.split(f"class Sync{group}Resource(")[1].split("\nclass ")[0]
        assert f"    ) -> list[{model}]: ..." in twin
        assert f"    ) -> list[{model} | LoopsError]: ..." in twin
        assert f"    ) -> SyncIterator[tuple[str, {model} | LoopsError]]:" in twin
        # Before the group's own methods: a method named `list` would shadow the builtin in
        # the annotations written after it.
        assert twin.index("    def get_many(") < twin.index("    def get(")
    samplers = generated.split("class SyncSamplersResource(")[1].split("\nclass ")[0]
    assert samplers.index("    def iter_many(") < samplers.index("    def list(")


def test_a_method_a_group_writes_itself_wins_over_the_inherited_one(package: Path) -> None:
    _add_to_runs(
        package,
        "\n    async def get_many(self, ids: list[str]) -> list[Run]:\n"
        '        """Runs, differently."""\n        return []\n',
    )
    generated = generate(package)
    runs = generated.split("class SyncRunsResource(")[1].split("\nclass ")[0]
    assert runs.count("    def get_many(") == 1
    assert '    ) -> list[Run]:\n        """Runs, differently."""' in runs
    assert runs.count("    def iter_many(") == 1  # still inherited
    # The raw view keeps RawLookups' get_many: its answer is one RawResponse per id.
    raw = generated.split("class SyncRunsResourceWithRawResponse(")[1].split("\nclass ")[0]
    assert "    ) -> list[RawResponse[Run]]: ..." in raw


def test_a_new_group_and_a_new_option_appear(package: Path) -> None:
    (package / "_resources" / "experiments.py").write_text(
        '''"""Experiments."""

from ._base import Resource


class ExperimentsResource(Resource):
    """``client.experiments``: experiments."""

    async def get(self, experiment_id: str, /, *names: str, **labels: int) -> str:
        """One experiment."""
        return experiment_id
'''
    )
    _edit(
        package / "_client.py",
        "        self.user_config = UserConfigResource(self._http)",
        "        self.user_config = UserConfigResource(self._http)\n"
        "        self.experiments = ExperimentsResource(self._http)",
    )
    _edit(
        package / "_client.py",
        "    UserConfigResourceWithRawResponse,\n)",
        "    UserConfigResourceWithRawResponse,\n)\n"
        "from ._resources.experiments import ExperimentsResource",
    )
    _edit(
        package / "_client.py",
        "        max_connections: int = 100,",
        "        max_connections: int = 100,\n        http2: bool = False,",
    )
    generated = generate(package)
    assert "class SyncExperimentsResource(SyncResource[ExperimentsResource]):" in generated
    assert (
        '    def experiments(self) -> SyncExperimentsResource:\n        """Experiments."""'
        in generated
    )
    assert (
        "        experiment_id: str,\n        /,\n        *names: str,\n        **labels: int,\n"
        in generated
    )
    assert "            experiment_id,\n            *names,\n            **labels,\n" in generated
    assert "        http2: bool = False,\n" in generated
    assert "                http2=http2,\n" in generated
    assert '    "SyncExperimentsResource",' in generated


def test_a_new_method_gets_a_raw_twin_with_nothing_else_to_write(package: Path) -> None:
    _add_to_runs(
        package,
        "\n    async def archive(self, run_id: str, *, reason: str | None = None) -> str:\n"
        '        """Archive a run."""\n        return run_id\n',
    )
    generated = generate(package)
    raw = generated.split("class SyncRunsResourceWithRawResponse")[1].split("\nclass ")[0]
    archive = raw.split("    def archive(")[1].split("\n\n")[0]
    assert ") -> RawResponse[str]:" in archive
    assert "return self._run(\n            self._resource.archive,\n            run_id," in archive
    plain = generated.split("class SyncRunsResource(")[1].split("\nclass ")[0]
    assert '    ) -> str:\n        """Archive a run."""' in plain


def test_the_raw_views_are_twinned_from_the_views_their_bases_and_their_groups(
    package: Path,
) -> None:
    generated = generate(package)
    samplers = generated.split("class SyncSamplersResourceWithRawResponse")[1].split("\nclass ")[0]
    # RawLookups[Sampler].get_many and iter_many: T is the view's model.
    assert "    ) -> list[RawResponse[Sampler]]: ..." in samplers
    assert "    ) -> SyncIterator[tuple[str, RawResponse[Sampler] | LoopsError]]:" in samplers
    assert "            PacedIds(ids)," in samplers
    assert "RawResponse[T]" not in generated
    # The view's own listing: its parse() is blocking.
    checkpoints = generated.split("class SyncCheckpointsResourceWithRawResponse")[1]
    assert "    ) -> RawResponse[SyncIterator[CheckpointFile]]:" in checkpoints
    assert "        return self._run_raw_listing(" in checkpoints
    # The groups, in the order LoopsClientWithRawResponse makes them.
    view = generated.split("class SyncLoopsClientWithRawResponse(SyncView[")[1]
    groups = [line.split("(")[0] for line in view.split("    def ")[1:]]
    assert groups == list(vars(baseten_loops.LoopsClient("test-key").with_raw_response))
    assert "samplers" in groups
    assert "    def with_raw_response(self) -> SyncLoopsClientWithRawResponse:" in generated


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            (
                "runs.py",
                "\n\nclass TrainersResource",
                '\n\n    def listing(self) -> AsyncIterator[int]:\n        """Items."""\n'
                "        return self._iter()\n\n\nclass TrainersResource",
            ),
            "must define what its raw answer is",
        ),
        (
            ("runs.py", "plain=TrainersResource", "plain=NoSuchResource"),
            "its plain= group not found",
        ),
        (
            ("samplers.py", "RawLookups[Sampler]", "RawLookups[Sampler, Run]"),
            "takes 1 type arguments, given 2",
        ),
        (
            (
                "../_client.py",
                "self.runs = RunsResourceWithRawResponse(http)",
                "self.runs = X(http)",
            ),
            r"X \(LoopsClientWithRawResponse.runs\) not found",
        ),
    ],
    ids=["raw listing left to the view", "unknown plain group", "type arguments", "unknown view"],
)
def test_a_raw_view_it_cannot_twin_stops_it(
    package: Path, edit: tuple[str, str, str], message: str
) -> None:
    _edit(package / "_resources" / edit[0], edit[1], edit[2])
    with pytest.raises(GeneratorError, match=message):
        generate(package)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("    limit = 10\n", "public attribute"),
        (
            '    def helper(self) -> int:\n        """A helper."""\n        return 1\n',
            "neither async",
        ),
        (
            "    @staticmethod\n    async def helper() -> int:\n"
            '        """A helper."""\n        return 1\n',
            "decorator",
        ),
        (
            '    async def helper(self) -> AsyncIterator[int]:\n        """Made later."""\n'
            "        return self._iter()\n",
            "async def` returning an async iterator",
        ),
        ("    async def helper(self) -> int:\n        return 1\n", "no docstring"),
        ('    async def helper(self):\n        """Untyped."""\n', "no return type"),
        ('    async def helper(self) -> Unknown:\n        """Unknown."""\n', "never imported"),
        (
            "    async def helper(\n        self,\n    ) -> dict[\n        str, int\n    ]:\n"
            '        """Long."""\n',
            "spans lines",
        ),
    ],
    ids=[
        "attribute",
        "plain method",
        "decorator",
        "awaited iterator",
        "docstring",
        "untyped",
        "unknown name",
        "multi-line",
    ],
)
def test_a_shape_it_does_not_know_stops_it(package: Path, code: str, message: str) -> None:
    _add_to_runs(package, "\n" + code)
    with pytest.raises(GeneratorError, match=message):
        generate(package)


def test_a_name_that_means_two_things_stops_it(package: Path) -> None:
    _edit(
        package / "_resources" / "sessions.py",
        "from ._base import ExtraHeaders, LookupsById, RawLookups",
        "from .._models import Run as ExtraHeaders\nfrom ._base import LookupsById, RawLookups",
    )
    with pytest.raises(GeneratorError, match="means different things"):
        generate(package)


def test_check_tells_whether_the_file_is_current(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "_sync_generated.py"
    assert main(["--check", "--output", str(output)]) == 1  # missing
    assert "is stale: run python -m baseten_loops._generate_sync" in capsys.readouterr().err
    assert main(["--output", str(output)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert output.read_text() == OUTPUT.read_text()
    assert main(["--output", str(output)]) == 0  # nothing to write
    assert "is current" in capsys.readouterr().out
    assert main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text() + "# edited by hand\n")
    assert main(["--check", "--output", str(output)]) == 1


@pytest.mark.parametrize(
    "command",
    [["-m", "baseten_loops._generate_sync"], [str(PACKAGE / "_generate_sync.py")]],
    ids=["module", "script"],
)
def test_it_runs_as_a_module_and_as_a_script(command: list[str]) -> None:
    # As a script it needs no import of the package, which a broken generated file would stop.
    done = subprocess.run(
        [sys.executable, *command, "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("_sync_generated.py is current\n")
