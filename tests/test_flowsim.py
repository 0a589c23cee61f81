"""The flow simulator's scenarios as tests: figures of the library's pacing on a virtual clock.

Each scenario of issue 14 (burst sizes, Retry-After policies, limit changes, several processes
on one quota) runs in a fraction of a second, the same every time, against the oracle (paced
at the true limit) and botocore's adaptive mode. The bounds are the issue's targets where the
design meets them; where it does not yet, the bound is what it does, and docs/flow-control.md
says so.
"""

from __future__ import annotations

import pytest

from tests import flowsim
from tests.flowsim import SCENARIOS, Scenario, run

#: Seeds: the latency jitter and the dither of the pacing differ; every one must pass.
SEEDS = (1, 2, 3)


def wall_bound(scenario: Scenario) -> float:
    """Client wall time over the oracle's, at most: 1.15, or 1.25 for the hard cases."""
    hard = scenario.retry_after == "30" or scenario.processes > 1
    return 1.25 if hard else 1.15


def requests_bound(scenario: Scenario) -> float:
    """Requests per id, at most: 1.10 (the target), more where the design does not meet it.

    A single client at 100/s with 64 workers pays about 5% for its slow start and 5% for the
    throttled answers it keeps to know the limit (5 a second); several processes pay those
    per process.
    """
    if scenario.processes > 1:
        return 1.25
    if scenario.rate <= 100:
        return 1.15
    return 1.10


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_id_is_found_close_to_the_oracles_time(name: str, seed: int) -> None:
    scenario = SCENARIOS[name]
    ours = run(scenario, seed=seed)
    oracle = run(scenario, "oracle", seed=seed)
    assert ours.lost == 0
    assert oracle.lost == 0
    assert ours.wall / oracle.wall <= wall_bound(scenario)
    assert ours.requests_per_id <= requests_bound(scenario)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_botocores_adaptive_mode_is_slower_in_every_scenario(name: str) -> None:
    scenario = SCENARIOS[name]
    assert run(scenario).wall < run(scenario, "botocore").wall


@pytest.mark.parametrize("name", [n for n, s in SCENARIOS.items() if s.processes > 1])
def test_processes_sharing_a_quota_finish_close_together(name: str) -> None:
    spreads = sorted(run(SCENARIOS[name], seed=seed).spread for seed in SEEDS)
    # The median run finishes all its processes within 50% of each other (the target is
    # 20%: not met yet, see docs/flow-control.md); none is starved for longer than the batch.
    assert spreads[1] <= 0.5
    assert spreads[-1] <= 1.0


def test_a_run_is_the_same_every_time() -> None:
    scenario = SCENARIOS["800 -> 200/s"]
    assert run(scenario, seed=7) == run(scenario, seed=7)
    assert run(scenario, seed=7) != run(scenario, seed=8)


def test_a_stray_429_on_an_idle_client_costs_the_next_batch_almost_nothing() -> None:
    with_stray, without = flowsim.stray_429_then_a_batch()
    assert with_stray < without + 0.05  # the bound is 1 s; it was 41 s


def test_a_few_stray_429s_in_a_batch_cost_it_well_under_a_second() -> None:
    with_strays, without = flowsim.scattered_429s_in_a_batch()
    assert with_strays < without + 1.0  # it was 10.8 s instead of 0.56 s


def test_after_abandoned_calls_the_next_lookup_waits_for_nothing() -> None:
    batch, wait = flowsim.abandoned_slots()
    # 400 lookups of 2 s each, 32 at a time, against 20/s: a slot is never held by a call that
    # gave up, so most make it (118 of 400 did when abandoned slots were kept).
    assert batch.found + batch.lost == 400
    assert batch.found >= 250
    assert wait < 0.01


def test_a_throttled_logs_route_leaves_sampler_lookups_at_full_speed() -> None:
    beside_tailers, alone = flowsim.logs_throttled_beside_samplers()
    assert beside_tailers <= alone * 1.01  # was 44 s instead of 0.04 s


def test_the_table_names_every_scenario_and_peer() -> None:
    results = [(run(s), run(s, "oracle"), run(s, "botocore")) for s in SCENARIOS.values()]
    text = flowsim.table(results)
    assert text.count("\n") == len(SCENARIOS) + 1
    for name in SCENARIOS:
        assert f"| {name} |" in text


@pytest.mark.parametrize("seed", range(12))
def test_a_server_that_refuses_a_share_at_random_is_not_paced_for_long(seed: int) -> None:
    # A flaky proxy answering 5% of requests 429 whatever the rate is not a limit: once the
    # client has seen that slowing down does not make it throttle less, it stops pacing. Every
    # seed: where the first throttled round puts the pacing is chance (one seed took 6.4x the
    # oracle's time when a dip of the recent share below the target ended the test).
    ours, oracle = flowsim.random_429s(0.05, seed=seed)
    assert ours.lost == 0
    assert ours.finished < 2.0 * oracle.finished
    assert None in [rate for _, rate in ours.rates[2:]]  # pacing stopped once it was noise
