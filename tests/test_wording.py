"""Counts in words people read: the noun's number follows the count."""

from backend_app.wording import counted


def test_a_count_takes_the_singular_only_for_one():
    assert [counted(n, "shot") for n in (0, 1, 2)] == ["0 shots", "1 shot", "2 shots"]
    assert counted(3, "retryable failed job") == "3 retryable failed jobs"
    assert counted(2, "analysis", "analyses") == "2 analyses" and counted(1, "analysis", "analyses") == "1 analysis"
