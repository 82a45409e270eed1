"""The conformance report: what counts as passing, and what the assert helper says."""

from __future__ import annotations

import pytest

from syncwell.testing import Check, CheckResult, ConformanceReport, Outcome, assert_conformant


def _report(*outcomes: tuple[Check, Outcome]) -> ConformanceReport:
    return ConformanceReport(
        "contacts",
        tuple(CheckResult(check, outcome, f"saw {check}") for check, outcome in outcomes),
    )


def test_skipped_checks_do_not_fail_a_report_but_a_failed_one_does() -> None:
    """A report passes with skipped checks; one failed check fails it."""
    quiet = _report((Check.FULL_READ, "passed"), (Check.WEBHOOKS, "skipped"))
    assert quiet.passed
    assert_conformant(quiet)
    broken = _report((Check.FULL_READ, "passed"), (Check.DELETE, "failed"))
    assert not broken.passed
    with pytest.raises(AssertionError, match="delete failed") as raised:
        assert_conformant(broken)
    assert "failed  delete" in str(raised.value)  # the whole report comes with it
    assert "saw delete" in str(raised.value)


def test_a_required_check_that_was_skipped_or_never_ran_fails() -> None:
    """`required` turns a skipped (or missing) check into a failure that says which."""
    report = _report((Check.FULL_READ, "passed"), (Check.WEBHOOKS, "skipped"))
    with pytest.raises(AssertionError, match="webhooks is required but skipped"):
        assert_conformant(report, required=[Check.WEBHOOKS])
    with pytest.raises(AssertionError, match="edit is required but did not run"):
        assert_conformant(report, required=[Check.EDIT])
    with pytest.raises(KeyError):
        report.result(Check.EDIT)
    assert report.result(Check.FULL_READ).detail == "saw full read"
