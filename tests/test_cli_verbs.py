"""The everyday verbs of the command line (samplers, runs, sessions, checkpoints, deployments).

Each runs through ``cli.main`` against the fake server, served in a thread; the fixture and
helpers are those of ``test_cli``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from baseten_loops import cli
from baseten_loops.cli import _render, _verbs
from baseten_loops.testing import FakeLoopsServer, Reply

from .fake_server_process import fake_server_process
from .test_cli import HOSTILE_MODEL, assert_inert, fake, run

__all__ = ["fake"]  # the fixture, used by name

#: The five team-capable verbs, with what each needs besides ``--team``.
TEAM_VERBS = [
    (["samplers", "list"], "GET /v1/teams/{team_id}/loops/samplers"),
    (["runs", "list"], "GET /v1/teams/{team_id}/loops/runs"),
    (["sessions", "create"], "POST /v1/teams/{team_id}/loops/sessions"),
    (
        ["samplers", "create", "--session-id", "{session}", "--base-model", "Qwen/Qwen3-8B"],
        "POST /v1/teams/{team_id}/loops/samplers",
    ),
    (
        ["runs", "create", "--session-id", "{session}", "--base-model", "Qwen/Qwen3-8B"],
        "POST /v1/teams/{team_id}/loops/runs",
    ),
]


def lines(out: str) -> list[dict[str, Any]]:
    """JSON Lines output, parsed."""
    return [json.loads(line) for line in out.splitlines()]


def table(out: str) -> list[list[str]]:
    """A table's rows, split into cells (columns are two or more spaces apart)."""
    return [[cell for cell in row.split("  ") if cell.strip()] for row in out.splitlines()]


def cells(row: list[str]) -> list[str]:
    return [cell.strip() for cell in row]


def last_request(server: FakeLoopsServer) -> Any:
    return server.recorded[-1]


# -- samplers --------------------------------------------------------------------------------


def test_samplers_list_prints_json_lines_and_a_table(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc", status="ACTIVE", base_model="Qwen/Qwen3-8B")
    fake.add_sampler("def", status="BUILDING", base_model="Qwen/Qwen3-8B")
    code, out, err = run(capsys, "samplers", "list")
    assert (code, err) == (0, "")
    assert [sampler["id"] for sampler in lines(out)] == ["def", "abc"]  # newest first
    code, out, _ = run(capsys, "samplers", "list", "--format", "table", "--scope", "org")
    assert code == 0
    rows = table(out)
    assert cells(rows[0]) == ["ID", "STATUS", "BASE MODEL", "AGE"]
    assert cells(rows[1])[:3] == ["def", "BUILDING", "Qwen/Qwen3-8B"]
    assert last_request(fake).query == {"scope": "org"}


def test_samplers_create_sends_the_options_given_and_prints_the_sampler(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    session = fake.add_session()["id"]
    code, out, err = run(
        capsys,
        "samplers",
        "create",
        "--session-id",
        session,
        "--base-model",
        "Qwen/Qwen3-8B",
        "--num-replicas",
        "2",
        "--availability-model",
        "spot",
    )
    assert (code, err) == (0, "")
    sampler = json.loads(out)
    assert out.startswith("{\n  ")
    assert sampler["base_model"] == "Qwen/Qwen3-8B"
    request = last_request(fake)
    assert request.route == "POST /v1/loops/samplers"
    assert request.json == {
        "session_id": session,
        "base_model": "Qwen/Qwen3-8B",
        "num_replicas": 2,
        "availability_model": "spot",
    }


def test_samplers_deactivate_prints_what_was_shut_down(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc")
    code, out, _ = run(capsys, "samplers", "deactivate", "abc", "--format", "table")
    header, row = (cells(row) for row in table(out))
    assert (code, header, row[0]) == (0, ["ID", "BASE MODEL", "USER"], "abc")
    assert fake.payload("abc")["status"] == {"name": "INACTIVE"}


def test_deactivating_a_paired_sampler_names_it_and_exits_1(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    sampler_id = fake.add_run()["sampler"]["id"]
    code, out, err = run(capsys, "samplers", "deactivate", sampler_id)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: {sampler_id}: 409 Conflict")
    assert err.count("\n") == 1
    assert "hint" not in err  # not a create


# -- runs ------------------------------------------------------------------------------------


def test_runs_list_filters_and_shows_the_sampler_in_its_table(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run_qwen = fake.add_run(base_model="Qwen/Qwen3-8B")
    fake.add_run(base_model="meta-llama/Llama-3.1-8B")
    code, out, _ = run(capsys, "runs", "list", "--base-model", "Qwen/Qwen3-8B", "--format", "table")
    assert code == 0
    rows = [cells(row) for row in table(out)]
    assert rows[0] == ["ID", "STATUS", "NAME", "BASE MODEL", "SAMPLER", "AGE"]
    assert rows[1][:5] == [
        run_qwen["id"],
        "ACTIVE",
        "Qwen/Qwen3-8B",
        "Qwen/Qwen3-8B",
        run_qwen["sampler"]["id"],
    ]
    assert len(rows) == 2
    assert last_request(fake).query == {"base_model": "Qwen/Qwen3-8B"}


def test_runs_get_prints_one_indented_object_and_a_dash_for_no_sampler(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    trainer = fake.add_run(with_sampler=False)
    code, out, _ = run(capsys, "runs", "get", trainer["id"])
    assert code == 0
    assert out.startswith("{\n  ")
    assert json.loads(out)["id"] == trainer["id"]
    code, out, _ = run(capsys, "runs", "get", trainer["id"], "--format", "table")
    assert cells(table(out)[1])[4] == "-"


def test_runs_create_sends_the_fields_given_and_leaves_out_the_rest(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    session = fake.add_session()["id"]
    argv = ["runs", "create", "--session-id", session, "--base-model", "Qwen/Qwen3-8B"]
    options = ["--lora-rank", "16", "--seed", "7", "--sampler-num-replicas", "2", "--name", "exp"]
    code, out, err = run(capsys, *argv, *options)
    assert (code, err) == (0, "")
    created = json.loads(out)
    assert created["session_id"] == session
    assert last_request(fake).json == {
        "session_id": session,
        "base_model": "Qwen/Qwen3-8B",
        "lora_rank": 16,
        "seed": 7,
        "sampler_num_replicas": 2,
        "name": "exp",
    }
    code, out, _ = run(capsys, "runs", "list")
    assert created["id"] in [listed["id"] for listed in lines(out)]


def test_runs_deactivate_shuts_the_run_down(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = fake.add_run()["id"]
    code, out, _ = run(capsys, "runs", "deactivate", run_id)
    assert code == 0
    assert json.loads(out)["id"] == run_id
    code, out, _ = run(capsys, "runs", "get", run_id)
    assert json.loads(out)["status"] == {"name": "INACTIVE"}


@pytest.mark.parametrize(
    "argv", [["runs", "create", "--base-model", "m"], ["runs", "create", "--session-id", "s"]]
)
def test_runs_create_without_a_required_option_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "the following arguments are required" in capsys.readouterr().err


# -- sessions --------------------------------------------------------------------------------


def test_sessions_create_then_get(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "sessions", "create")
    assert code == 0
    session_id = json.loads(out)["id"]
    code, out, _ = run(capsys, "sessions", "get", session_id, "--format", "table")
    assert code == 0
    assert [cells(row) for row in table(out)] == [["ID"], [session_id]]


# -- --team ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "route"), TEAM_VERBS, ids=[" ".join(v[:2]) for v, _ in TEAM_VERBS]
)
def test_team_moves_the_call_under_the_team(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], argv: list[str], route: str
) -> None:
    session = fake.add_session(team_id="team-7")["id"]
    filled = [arg.format(session=session) for arg in argv]
    code, _, err = run(capsys, *filled, "--team", "team-7")
    assert (code, err) == (0, "")
    request = last_request(fake)
    assert request.route == route
    assert request.path.startswith("/v1/teams/team-7/loops/")


def test_a_team_list_shows_only_the_teams_objects(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    in_team = fake.add_run(team_id="team-7")
    fake.add_run()
    code, out, _ = run(capsys, "runs", "list", "--team", "team-7")
    assert code == 0
    assert [listed["id"] for listed in lines(out)] == [in_team["id"]]


def test_team_is_offered_only_where_the_api_takes_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["runs", "get", "abc", "--team", "team-7"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --team" in capsys.readouterr().err


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoints_list_by_run(fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = fake.add_run()["id"]
    checkpoint = fake.add_checkpoint(run_id=run_id, files=3)
    fake.add_checkpoint(run_id="another-run")
    code, out, _ = run(capsys, "checkpoints", "list", "--run-id", run_id, "--format", "table")
    assert code == 0
    rows = [cells(row) for row in table(out)]
    assert rows[0] == ["ID", "RUN", "TARGET", "SIZE", "AGE"]
    assert rows[1][:4] == [checkpoint["id"], run_id, "sampler", "3.0 KiB"]
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("filters", "complaint"),
    [
        ([], "one of the arguments --run-id --base-model --checkpoint-path is required"),
        (["--run-id", "r", "--base-model", "m"], "argument --base-model: not allowed with"),
    ],
)
def test_checkpoints_list_needs_exactly_one_filter_before_any_request(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    filters: list[str],
    complaint: str,
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["checkpoints", "list", *filters])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: baseten-loops checkpoints list ")
    assert complaint in err
    assert fake.requests == 0  # the server would have refused it (400): not sent


def test_checkpoints_files_streams_every_file_of_every_page(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint_id = fake.add_checkpoint(run_id="r1", files=5)["id"]
    code, out, _ = run(capsys, "checkpoints", "files", checkpoint_id, "--page-size", "2")
    assert code == 0
    names = [file["relative_file_name"] for file in lines(out)]
    assert names == [f"file-{index:05d}.bin" for index in range(5)]
    pages = [
        r for r in fake.recorded if r.route == "GET /v1/loops/checkpoints/{checkpoint_id}/files"
    ]
    assert [page.query.get("page_token") for page in pages] == [None, "2", "4"]
    code, out, _ = run(capsys, "checkpoints", "files", checkpoint_id, "--format", "table")
    rows = [cells(row) for row in table(out)]
    assert rows[0] == ["FILE", "NODE", "SIZE", "LAST MODIFIED"]
    assert rows[1][:3] == ["file-00000.bin", "0", "1.0 KiB"]
    assert len(rows) == 6


def test_files_before_a_failed_page_are_printed_and_the_failure_exits_1(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint_id = fake.add_checkpoint(run_id="r1", files=4)["id"]
    route = "GET /v1/loops/checkpoints/{checkpoint_id}/files"
    fake.enqueue(Reply(), Reply(status=404), route=route)
    code, out, err = run(capsys, "checkpoints", "files", checkpoint_id, "--page-size", "2")
    assert code == 1
    assert len(lines(out)) == 2
    assert err.startswith(f"error: {checkpoint_id}: 404 Not Found")


# -- deployments -----------------------------------------------------------------------------


def test_deployments_list_and_get(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment_id = fake.add_run()["deployment_id"]
    code, out, _ = run(capsys, "deployments", "list", "--format", "table")
    assert code == 0
    rows = [cells(row) for row in table(out)]
    assert rows[0] == ["ID", "STATUS", "BASE MODEL", "ACTIVE RUN", "AVAILABILITY", "AGE"]
    assert rows[1][0] == deployment_id
    code, out, _ = run(capsys, "deployments", "get", deployment_id)
    assert code == 0
    assert json.loads(out)["status"] == {"name": "RUNNING"}


def test_deployments_logs_sends_the_window_and_filters(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment_id = fake.add_deployment(logs=["first", "second"])["id"]
    code, out, err = run(
        capsys,
        "deployments",
        "logs",
        deployment_id,
        "--start",
        "2020-01-01T00:00:00Z",
        "--end",
        "1577923200000",
        "--limit",
        "10",
        "--direction",
        "asc",
        "--min-level",
        "INFO",
    )
    assert (code, out, err) == (0, "", "")  # the lines, logged now, are not in that window
    assert last_request(fake).query == {
        "start_epoch_millis": "1577836800000",
        "end_epoch_millis": "1577923200000",
        "limit": "10",
        "direction": "asc",
        "min_level": "INFO",
    }


def test_deployments_logs_table_shows_times_levels_and_messages(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    stamp_ms = int(time.time() * 1000) - 60_000  # in the server's default window
    logs = [{"timestamp": f"{stamp_ms}000000", "message": "step 1", "level": "WARNING"}, "step 2"]
    deployment_id = fake.add_deployment(logs=logs)["id"]
    argv = ["deployments", "logs", deployment_id, "--direction", "asc", "--format", "table"]
    code, out, _ = run(capsys, *argv)
    moment = datetime.fromtimestamp(stamp_ms // 1000, timezone.utc)
    shown = f"{moment:%Y-%m-%dT%H:%M:%S}.{stamp_ms % 1000:03d}Z"
    assert code == 0
    rows = [cells(row) for row in table(out)]
    assert rows[0] == ["TIME", "LEVEL", "REPLICA", "MESSAGE"]
    assert rows[1] == [shown, "WARNING", "replica-0", "step 1"]
    assert rows[2][1:] == ["INFO", "replica-0", "step 2"]


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("1795766400000", 1795766400000),
        ("2026-11-27T08:00:00Z", 1795766400000),
        ("2026-11-27T08:00:00", 1795766400000),  # no offset: UTC
        ("2026-11-27T09:00:00+01:00", 1795766400000),
        ("2026-11-27", 1795737600000),
    ],
)
def test_times_are_epoch_millis_or_iso_8601(text: str, millis: int) -> None:
    assert _verbs._epoch_millis(text) == millis


def test_a_bad_time_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["deployments", "logs", "d1", "--start", "yesterday"])
    assert exited.value.code == 2
    assert "expected epoch milliseconds or an ISO 8601 time" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [("1795766400123000000", "2026-11-27T08:00:00.123Z"), ("2026-11-27 08:00", "2026-11-27 08:00")],
)
def test_log_times_are_shown_as_iso_utc(stamp: str, shown: str) -> None:
    assert _render._log_time(stamp) == shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 2**30, "5.0 GiB"),
        (2**52, "4096.0 TiB"),
    ],
)
def test_sizes_are_short_and_human(size: int, shown: str) -> None:
    assert _render._size(size) == shown


# -- empty lists, failures, the key ----------------------------------------------------------


def test_a_checkpoint_without_files_is_a_bare_header(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint_id = fake.add_checkpoint(run_id="r1")["id"]
    code, out, _ = run(capsys, "checkpoints", "files", checkpoint_id, "--format", "table")
    assert code == 0
    assert [cells(row) for row in table(out)] == [["FILE", "NODE", "SIZE", "LAST MODIFIED"]]


def test_an_empty_list_is_no_json_lines_and_a_bare_header(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "runs", "list")
    assert (code, out) == (0, "")
    code, out, _ = run(capsys, "runs", "list", "--format", "table")
    assert code == 0
    assert [cells(row) for row in table(out)] == [
        ["ID", "STATUS", "NAME", "BASE MODEL", "SAMPLER", "AGE"]
    ]


@pytest.mark.parametrize("output", ["json", "table"])
def test_a_missing_object_is_one_error_line_and_exit_1(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    code, out, err = run(capsys, "runs", "get", "nope", "--format", output)
    assert (code, out) == (1, "")
    assert re.fullmatch(
        re.escape(f"error: nope: 404 Not Found for GET {fake.base_url}/v1/loops/runs/nope: ")
        + r"Run nope not found \[request id req_[0-9a-f]{12}\]\n",
        err,
    )


def test_an_invalid_id_fails_before_any_request(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "sessions", "get", "a/b")
    assert code == 1
    assert err.startswith("error: a/b: ")
    assert fake.requests == 0


def test_a_refused_key_exits_2_with_one_line(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "sk-wrong-key-123")
    code, out, err = run(capsys, "runs", "list", "--format", "table")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "refused the API key (401 Unauthorized)" in err
    assert "sk-wrong-key-123" not in err


@pytest.mark.parametrize(
    ("reply", "list_command"),
    [
        (Reply(status=500), "runs list"),
        (Reply(drop=True), "runs list"),
        (Reply(status=500), "samplers list"),
    ],
    ids=["runs-500", "runs-dropped", "samplers-500"],
)
def test_an_ambiguous_create_failure_is_sent_once_and_points_to_list(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], reply: Reply, list_command: str
) -> None:
    session = fake.add_session()["id"]
    group = list_command.split()[0]
    fake.enqueue(reply, route=f"POST /v1/loops/{group}")
    argv = [group, "create", "--session-id", session, "--base-model", "Qwen/Qwen3-8B"]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert fake.requests_by_route[f"POST /v1/loops/{group}"] == 1
    error, hint = err.splitlines()
    assert error.startswith("error: ")
    assert hint.startswith("hint: the server may have acted on it, so it was not sent again")
    assert f"'baseten-loops {list_command}'" in hint


def test_a_refused_create_has_no_hint(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "samplers", "create", "--session-id", "no-such-session")
    assert code == 1
    assert err.startswith(f"error: 404 Not Found for POST {fake.base_url}/v1/loops/samplers")
    assert "hint" not in err


# -- hostile server text ---------------------------------------------------------------------


@pytest.mark.parametrize("with_rich", [True, False], ids=["rich", "plain"])
@pytest.mark.parametrize("verb", ["runs", "deployments", "logs", "files"])
def test_tables_show_hostile_server_text_escaped(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    with_rich: bool,
    verb: str,
) -> None:
    if not with_rich:
        monkeypatch.setitem(sys.modules, "rich.table", None)
    monkeypatch.setenv("COLUMNS", "400")
    hostile = fake.add_run(base_model=HOSTILE_MODEL, name=HOSTILE_MODEL)
    fake.add_logs(hostile["deployment_id"], [HOSTILE_MODEL])
    checkpoint = fake.add_checkpoint(run_id=hostile["id"], files=[HOSTILE_MODEL])
    argv = {
        "runs": ["runs", "list"],
        "deployments": ["deployments", "get", hostile["deployment_id"]],
        "logs": ["deployments", "logs", hostile["deployment_id"]],
        "files": ["checkpoints", "files", checkpoint["id"]],
    }[verb]
    code, out, err = run(capsys, *argv, "--format", "table")
    assert (code, err) == (0, "")  # no MarkupError
    assert_inert(out)
    assert "\\x1b]0;pwned\\x07[link=https://evil]x[/link]\\x1b[2J\\rfake\\u202eevil" in out


def test_error_lines_of_verbs_escape_server_text(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.enqueue(
        Reply(status=404, body={"message": HOSTILE_MODEL}), route="GET /v1/loops/runs/{run_id}"
    )
    code, _, err = run(capsys, "runs", "get", "gone")
    assert code == 1
    assert_inert(err)
    assert err.startswith("error: gone: 404 Not Found")
    assert "\\x1b]0;pwned\\x07[link=https://evil]x[/link]" in err
    code, _, err = run(capsys, "runs", "get", "x\x1b[2J")  # refused before any request
    assert code == 1
    assert_inert(err)
    assert err.startswith("error: x\\x1b[2J: run_id 'x\\x1b[2J' contains control characters")


# -- help, and the fake server's seeded objects ---------------------------------------------


def test_a_group_alone_prints_its_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["deployments"]) == 2
    assert "logs" in capsys.readouterr().err


def test_fake_server_prints_what_to_export_and_commands_that_work() -> None:
    with fake_server_process("--samplers", "2") as started:
        env = started.env
        commands = [s.split() for s in started.printed if s.startswith("  baseten-loops ")]
        results = [_run_printed(command[1:], env) for command in commands]
    assert set(env) == {"BASETEN_BASE_URL", "BASETEN_API_KEY"}
    assert env["BASETEN_BASE_URL"].startswith("http://127.0.0.1:")
    assert [command[1:3] for command in commands] == [
        ["samplers", "get"],
        ["runs", "get"],
        ["checkpoints", "files"],
        ["deployments", "logs"],
    ]
    assert all(done.returncode == 0 for done in results), [done.stderr for done in results]
    assert [row.split()[:2] for row in results[0].stdout.splitlines()[1:]] == [
        ["abc123", "ACTIVE"],
        ["def456", "SCALED_TO_ZERO"],
        ["ghi789", "BUILDING"],
    ]
    assert "r1" in results[1].stdout
    assert "adapter_model.safetensors" in results[2].stdout
    assert "NCCL timeout on rank 3, retrying" in results[3].stdout


def _run_printed(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "baseten_loops", *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
