"""Counts in words people read: the noun's number follows the count."""

from backend_app.wording import counted, duration


def test_a_count_takes_the_singular_only_for_one():
    assert [counted(n, "shot") for n in (0, 1, 2)] == ["0 shots", "1 shot", "2 shots"]
    assert counted(3, "retryable failed job") == "3 retryable failed jobs"
    assert counted(2, "analysis", "analyses") == "2 analyses" and counted(1, "analysis", "analyses") == "1 analysis"


def test_a_duration_reads_as_seconds_under_a_minute_and_as_a_clock_above():
    assert [duration(s) for s in (0.04, 4.0, 59.94, 60.0, 125.4, 3725.0)] == [
        "0.04 s",
        "4.0 s",
        "59.9 s",
        "1:00",
        "2:05",
        "1:02:05",
    ]
    assert duration(None) == "—"
