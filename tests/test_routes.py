"""The route table against the spec, and building requests from it (pure: no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from baseten_loops import (
    AvailabilityModel,
    IdTypeError,
    InvalidIdError,
    InvalidSamplerIdError,
    LogLevel,
    SamplerIdTypeError,
)
from baseten_loops._routes import LOOPS_PREFIX, ROUTES, TEAM_PREFIX, UNSET, Route, build_request
from baseten_loops._sansio import path_segment

from .spec_payloads import operations, properties_of, request_schema, response_schema, schemas

TEAM_OPERATIONS = {
    "post_teams_loops_sessions": "sessions.create",
    "get_teams_loops_runs": "runs.list",
    "post_teams_loops_runs": "runs.create",
    "post_teams_loops_trainers": "trainers.create",
    "get_teams_loops_samplers": "samplers.list",
    "post_teams_loops_samplers": "samplers.create",
}
ROUTE_LIST = list(ROUTES.values())


def spec_operation(route: Route[Any]) -> tuple[str, str, dict[str, Any]]:
    return operations()[route.operation_id]


def test_the_table_and_its_team_variants_cover_all_31_operations() -> None:
    covered = {route.operation_id for route in ROUTE_LIST} | set(TEAM_OPERATIONS)
    assert covered == set(operations())
    assert len(covered) == 31


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_method_and_path_are_the_spec_operation(route: Route[Any]) -> None:
    method, path, _ = spec_operation(route)
    assert (route.method, LOOPS_PREFIX + route.path) == (method, path)


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_query_parameters_are_the_spec_ones(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
    assert list(route.query) == names


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_body_fields_are_the_request_schema_properties(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    schema = request_schema(operation)
    assert set(route.body) == (set(properties_of(schema)) if schema else set())


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_only_routes_the_spec_calls_idempotent_are_resent_freely(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    # x-idempotent null (not stated) counts as not idempotent: resending could act twice.
    assert route.idempotent is (operation["x-idempotent"] is True)


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_team_capable_routes_are_those_with_a_team_path(route: Route[Any]) -> None:
    method, path, _ = spec_operation(route)
    team_path = TEAM_PREFIX + path.removeprefix(LOOPS_PREFIX)
    in_spec = any((m, p) == (method, team_path) for m, p, _ in operations().values())
    assert route.team_capable is in_spec
    if in_spec:
        assert (
            TEAM_OPERATIONS[
                next(k for k, (m, p, _) in operations().items() if (m, p) == (method, team_path))
            ]
            == route.name
        )


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_paging_is_the_spec_pagination(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    pagination = operation["x-pagination"] or {}
    style = {"offset-token": "offset", "opaque-token": "opaque"}.get(pagination.get("style"))
    assert (route.paging.token if route.paging else None) == style
    if route.paging:
        assert route.paging.items == pagination["items"]


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_response_key_is_the_envelope_property(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    props = properties_of(response_schema(operation))
    if route.response_key:
        assert route.response_key in props
    elif route.response_type is not None:
        # The whole object is the answer: no single-property envelope to unwrap.
        assert len(props) > 1


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_path_ids_are_the_spec_path_parameters(route: Route[Any]) -> None:
    _, path, _ = spec_operation(route)
    assert route.path_params == tuple(
        part[1:-1] for part in path.split("/") if part.startswith("{")
    )


# --- build_request ----------------------------------------------------------------------------


def test_none_query_parameters_are_not_sent() -> None:
    request = build_request(ROUTES["runs.list"], {"run_id": None, "base_model": "Q/8B"})
    assert request.params == {"base_model": "Q/8B"}
    assert build_request(ROUTES["runs.list"], {}).params is None


def test_query_values_become_strings_and_enums_their_values() -> None:
    request = build_request(
        ROUTES["deployments.logs"],
        {"deployment_id": "d1", "limit": 10, "min_level": LogLevel.ERROR, "direction": "asc"},
    )
    assert request.params == {"direction": "asc", "limit": "10", "min_level": "ERROR"}


def test_none_body_fields_are_left_out_and_the_rest_sent_as_given() -> None:
    request = build_request(
        ROUTES["runs.create"],
        {
            "session_id": "s1",
            "base_model": "Q/8B",
            "name": None,
            "availability_model": AvailabilityModel.SPOT,
            "seed": 0,
        },
    )
    assert request.json == {
        "session_id": "s1",
        "base_model": "Q/8B",
        "availability_model": AvailabilityModel.SPOT,
        "seed": 0,
    }
    assert (request.method, request.path, request.idempotent) == ("POST", "/v1/loops/runs", False)


def test_a_body_route_with_every_field_none_sends_an_empty_object() -> None:
    request = build_request(ROUTES["deployments.metrics"], {"deployment_id": "d1"})
    assert request.json == {}


def test_a_route_without_a_body_sends_none() -> None:
    assert build_request(ROUTES["sessions.create"], {}).json is None


def test_merge_patch_sends_null_for_none_and_leaves_unset_out() -> None:
    request = build_request(
        ROUTES["user_config.update"],
        {"trainer_accelerator_priority": None, "sampler_accelerator_priority": UNSET},
    )
    assert request.json == {"trainer_accelerator_priority": None}
    assert request.method == "PATCH"


def test_team_id_moves_the_route_under_the_team() -> None:
    request = build_request(ROUTES["samplers.create"], {"session_id": "s"}, team_id="team 1")
    assert request.path == "/v1/teams/team%201/loops/samplers"


@pytest.mark.parametrize(
    ("route", "parameter"),
    [(route, name) for route in ROUTE_LIST for name in route.path_params],
    ids=[f"{route.name}.{name}" for route in ROUTE_LIST for name in route.path_params],
)
def test_every_path_id_is_one_encoded_segment(route: Route[Any], parameter: str) -> None:
    request = build_request(route, {parameter: "a ?#%é"})
    assert request.path.endswith(route.path.format(**{parameter: "a%20%3F%23%25%C3%A9"}))


@pytest.mark.parametrize(
    ("route", "parameter"),
    [(route, name) for route in ROUTE_LIST for name in route.path_params],
    ids=[f"{route.name}.{name}" for route in ROUTE_LIST for name in route.path_params],
)
@pytest.mark.parametrize("bad", ["", "  ", "..", ".", "a/b", "a\\b", "a\nb", "x" * 257])
def test_every_path_id_is_validated_like_sampler_ids(
    route: Route[Any], parameter: str, bad: str
) -> None:
    with pytest.raises(InvalidIdError) as info:
        build_request(route, {parameter: bad})
    with pytest.raises(InvalidSamplerIdError) as sampler_info:
        path_segment(bad, "sampler_id")
    # Same rule, same words; only the name differs.
    assert str(info.value).replace(parameter, "sampler id") == str(sampler_info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [None, 3, b"abc", ["a"]])
def test_non_str_ids_are_type_errors_naming_the_parameter(bad: object) -> None:
    with pytest.raises(IdTypeError, match=r"^run_id must be a str"):
        build_request(ROUTES["runs.get"], {"run_id": bad})
    with pytest.raises(SamplerIdTypeError, match=r"^sampler id must be a str"):
        build_request(ROUTES["samplers.deactivate"], {"sampler_id": bad})


@pytest.mark.parametrize("bad", ["", "a/b", 3])
def test_team_ids_are_validated_too(bad: object) -> None:
    with pytest.raises(InvalidIdError, match="team_id"):
        build_request(ROUTES["runs.list"], {}, team_id=bad)  # type: ignore[arg-type]


def test_non_sampler_id_errors_are_not_sampler_errors() -> None:
    with pytest.raises(InvalidIdError) as info:
        build_request(ROUTES["runs.get"], {"run_id": ".."})
    assert not isinstance(info.value, InvalidSamplerIdError)


def test_samplers_get_route_builds_the_path_samplers_get_uses() -> None:
    request = build_request(ROUTES["samplers.get"], {"sampler_id": "a b"})
    assert request.path == "/v1/loops/samplers/a%20b"


def test_an_argument_the_route_does_not_take_is_a_bug() -> None:
    with pytest.raises(TypeError, match=r"runs.get takes no \['scope'\]"):
        build_request(ROUTES["runs.get"], {"run_id": "r", "scope": "org"})


@pytest.mark.parametrize("route", ROUTE_LIST, ids=list(ROUTES))
def test_required_body_fields_are_the_schema_required_ones(route: Route[Any]) -> None:
    _, _, operation = spec_operation(route)
    schema = request_schema(operation)
    expected = set(schemas()[schema].get("required", ())) if schema else set()
    assert set(route.required_body) == expected


@pytest.mark.parametrize("missing", ["session_id", "base_model"])
def test_a_create_without_a_required_field_is_refused_before_sending(missing: str) -> None:
    arguments = {"session_id": "s", "base_model": "m", missing: None}
    with pytest.raises(TypeError, match=rf"runs.create needs \['{missing}'\]"):
        build_request(ROUTES["runs.create"], arguments)


def test_unset_reads_as_itself() -> None:
    assert repr(UNSET) == "UNSET"


def test_a_route_without_a_team_path_refuses_a_team_id() -> None:
    with pytest.raises(TypeError, match=r"runs\.get cannot act for a team"):
        build_request(ROUTES["runs.get"], {"run_id": "r"}, team_id="t")
