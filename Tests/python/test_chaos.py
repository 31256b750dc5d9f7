"""The fault suite as tests: a seeded storm against real processes with every promise checked while it
runs (rollcall_testing/chaos.py), in three pools at once with their isolation checked, once on one Redis, once on a Sentinel set (both with PostgreSQL
failovers to a streaming standby), and with a split brain and lost commits injected on purpose, which
the same checks must catch. The storm's length comes from
ROLLCALL_CHAOS_DURATION (s, default 60) and ROLLCALL_CHAOS_FAULTS (default 30); a seed from
ROLLCALL_CHAOS_SEED replays one (each run prints its seed)."""
import os

import pytest

from rollcall_testing import chaos


def storm(*extra):
    arguments = ["--duration", os.environ.get("ROLLCALL_CHAOS_DURATION", "60"),
                 "--faults", os.environ.get("ROLLCALL_CHAOS_FAULTS", "30"), *extra]
    if "ROLLCALL_CHAOS_SEED" in os.environ:
        arguments += ["--seed", os.environ["ROLLCALL_CHAOS_SEED"]]
    return chaos.run(chaos.parse(arguments))


def test_a_storm_on_one_redis_breaks_no_promise():
    suite = storm()
    assert not suite.violations, suite.examples
    assert suite.counters.get("status rounds", 0) > 0
    for pool in ("default", "fast", "tags"):
        assert suite.counters.get(f"workers-hash samples [{pool}]", 0) > 0, pool
        assert suite.counters.get(f"simulated-client beliefs recorded [{pool}]", 0) > 0, pool
    assert suite.counters.get("pool isolation: quiet-pool heartbeats measured", 0) > 0, suite.counters
    assert suite.counters.get("fault: postgres-failover-sync") and suite.counters.get("fault: postgres-failover-async"), suite.counters
    assert suite.counters.get("kafka receipts written", 0) > 0 and suite.counters.get("kafka group samples", 0) > 0, suite.counters
    assert suite.counters.get("fault: broker-restart"), suite.counters


def test_a_storm_with_sentinel_failovers_breaks_no_promise():
    suite = storm("--redis", "sentinel")
    assert not suite.violations, suite.examples
    assert any(key.startswith("fault: primary") or key.startswith("fault: sentinel") for key in suite.counters), suite.counters


@pytest.mark.parametrize("injected, caught_by", [("split-brain", None),
                                                ("lost-commits", "commits lost in a synchronous PostgreSQL failover"),
                                                ("kafka-intruder", "a consumer group with two members (describe-groups)")])
def test_an_injected_fault_is_caught(injected, caught_by):
    """The checks can fail: two coordinators for one fleet, or a "synchronous" standby that misses the
    last commits, must turn them red."""
    kafka = [] if injected.startswith("kafka") else ["--no-kafka"]
    suite = chaos.run(chaos.parse(["--duration", "20", "--faults", "6", "--inject", injected, *kafka]))
    assert suite.violations, f"the injected {injected} went unnoticed: the checks cannot fail"
    assert caught_by is None or caught_by in suite.violations, suite.violations
    if injected == "kafka-intruder":
        assert "audit: receipt not under the group's newest claim" in suite.violations, suite.violations
    print("caught:", ", ".join(f"{what} ({n})" for what, n in suite.violations.items()))
