"""Shared by every module: each test's outcome is kept on its item (`rep_setup`, `rep_call`), so a fixture
can print a failed check's logs."""
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
