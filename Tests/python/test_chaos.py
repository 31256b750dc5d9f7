"""The fault suite as tests: a seeded storm against real processes with every promise checked while it
runs (rollcall_testing/chaos.py), once on one Redis, once on a Sentinel set, and once with a split brain
injected on purpose, which the same checks must catch. The storm's length comes from
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
    assert suite.counters.get("workers-hash samples", 0) > 0 and suite.counters.get("status rounds", 0) > 0


def test_a_storm_with_sentinel_failovers_breaks_no_promise():
    suite = storm("--redis", "sentinel")
    assert not suite.violations, suite.examples
    assert any(key.startswith("fault: primary") or key.startswith("fault: sentinel") for key in suite.counters), suite.counters


@pytest.mark.parametrize("injected", ["split-brain"])
def test_an_injected_split_brain_is_caught(injected):
    """The checks can fail: two coordinators for one fleet must turn them red."""
    suite = chaos.run(chaos.parse(["--duration", "20", "--faults", "6", "--inject", injected]))
    assert suite.violations, "the injected split brain went unnoticed: the checks cannot fail"
    print("caught:", ", ".join(f"{what} ({n})" for what, n in suite.violations.items()))
