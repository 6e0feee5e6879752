"""Unit tests of :func:`teamcrm.retry_on_conflict`."""

from __future__ import annotations

import pytest

from teamcrm import ConcurrencyError, NotFound, ValidationError, retry_on_conflict


class _Flaky:
    """Raises ``ConcurrencyError`` *failures* times, then returns ``"done"``."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConcurrencyError("contact", "ct_x", self.calls)
        return "done"


def test_returns_at_once_without_conflict() -> None:
    fn = _Flaky(0)
    assert retry_on_conflict(fn, base_delay=0) == "done"
    assert fn.calls == 1


@pytest.mark.parametrize("failures", [1, 2, 4])
def test_retries_until_success_within_attempts(failures: int) -> None:
    fn = _Flaky(failures)
    assert retry_on_conflict(fn, attempts=5, base_delay=0) == "done"
    assert fn.calls == failures + 1


def test_reraises_the_last_conflict_after_the_attempts() -> None:
    fn = _Flaky(10)
    with pytest.raises(ConcurrencyError) as exc:
        retry_on_conflict(fn, attempts=3, base_delay=0)
    assert fn.calls == 3
    assert exc.value.expected_version == 3  # the last one, not the first


def test_other_errors_are_not_retried() -> None:
    calls = []

    def missing() -> None:
        calls.append(1)
        raise NotFound("contact", "ct_x")

    with pytest.raises(NotFound):
        retry_on_conflict(missing, base_delay=0)
    assert calls == [1]


def test_sleeps_between_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("teamcrm.retry.time.sleep", slept.append)
    retry_on_conflict(_Flaky(3), attempts=4, base_delay=0.01)
    assert len(slept) == 3
    for attempt, delay in enumerate(slept):
        assert 0 <= delay <= 0.01 * 2**attempt


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"attempts": 0}, "attempts"),
        ({"attempts": "3"}, "attempts"),
        ({"attempts": True}, "attempts"),
        ({"base_delay": -1}, "base_delay"),
        ({"base_delay": float("nan")}, "base_delay"),
        ({"base_delay": "0.1"}, "base_delay"),
    ],
)
def test_bad_arguments_are_validation_errors(kwargs: dict[str, object], field: str) -> None:
    fn = _Flaky(0)
    with pytest.raises(ValidationError) as exc:
        retry_on_conflict(fn, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert fn.calls == 0


def test_fn_must_be_callable() -> None:
    with pytest.raises(ValidationError, match="fn"):
        retry_on_conflict("not a function")  # type: ignore[arg-type]
