"""Server-side inline SVG charts: signal lines over time, no JavaScript needed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 600, 160, 4
MAX_POINTS = 300  # two pixels per point at the chart's width: more would not show
LOUDNESS_FLOOR_DBFS = -60.0  # the chart's bottom for loudness: quieter than this looks like silence
SERIES = ("motion", "brightness", "loudness")


@dataclass(frozen=True)
class Line:
    """One series as an SVG polyline, scaled to its own maximum (labelled in the legend)."""

    name: str
    points: str
    peak: float
    label: str = ""  # the legend: the name and the peak in the series' own unit

    def __post_init__(self):
        if not self.label:
            object.__setattr__(self, "label", f"{self.name} (peak {self.peak})")


@dataclass(frozen=True)
class Chart:
    lines: list[Line]
    duration_s: float
    ticks: list[tuple[float, float]]  # (x position, seconds)
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def title(self) -> str:
        """E.g. "Motion, brightness and loudness over time"."""
        names = [line.name for line in self.lines]
        words = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
        return f"{words.capitalize()} over time"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def samples_from_report(report: dict) -> list[dict]:
    """Per-sample signals: the report's timeline when it has one, else one sample per shot start/end."""
    timeline = report.get("timeline")
    if isinstance(timeline, dict):  # column form: {"t": [...], "motion": [...], ...}
        times = timeline.get("t") or timeline.get("time_s") or []
        timeline = [
            {"t": t, **{k: v[i] for k, v in timeline.items() if isinstance(v, list) and i < len(v)}}
            for i, t in enumerate(times)
        ]
    if isinstance(timeline, list) and timeline:
        samples = [{**s, "t": _number(s.get("t", s.get("time_s")))} for s in timeline if isinstance(s, dict)]
    else:
        samples = []
        for shot in report.get("shots") or []:
            for t in (shot.get("start_s"), shot.get("end_s")):
                samples.append({"t": _number(t), "motion": shot.get("motion"), "brightness": shot.get("brightness")})
    sound = loudness_samples(report)
    if not sound:
        return samples
    return sorted(samples + sound, key=lambda s: s["t"] if s["t"] is not None else -1.0)


def loudness_samples(report: dict) -> list[dict]:
    """The audio track's loudness curve as chart samples: dB above LOUDNESS_FLOOR_DBFS (0 = silence)."""
    audio = report.get("audio")
    if not isinstance(audio, dict):
        return []
    samples = []
    for point in audio.get("loudness") or []:
        if not isinstance(point, dict):
            continue
        t, dbfs = _number(point.get("t")), _number(point.get("dbfs"))
        if t is not None and dbfs is not None:
            samples.append({"t": t, "loudness": max(0.0, dbfs - LOUDNESS_FLOOR_DBFS)})
    return samples


def downsample(rows: list[dict], series: tuple[str, ...], points: int) -> list[dict]:
    """At most ``points`` samples: each bucket keeps its first time and each series' peak (cuts stay visible)."""
    if len(rows) <= points:
        return rows
    size = len(rows) / points
    out = []
    for b in range(points):
        bucket = rows[int(b * size) : int((b + 1) * size)] or rows[-1:]
        merged = {"t": bucket[0]["t"]}
        for name in series:
            values = [v for v in (_number(r.get(name)) for r in bucket) if v is not None]
            merged[name] = max(values) if values else None
        out.append(merged)
    out[-1]["t"] = rows[-1]["t"]
    return out


def line_chart(samples: Iterable[dict], series: tuple[str, ...] = SERIES) -> Chart | None:
    """Scale each series to the chart box; None when there is nothing to draw."""
    rows = [s for s in samples if s.get("t") is not None]
    if not rows:
        return None
    rows = downsample(rows, series, MAX_POINTS)
    duration = max(s["t"] for s in rows) or 1.0
    lines = []
    for name in series:
        values = [(s["t"], _number(s.get(name))) for s in rows]
        values = [(t, v) for t, v in values if v is not None]
        if len(values) < 2:
            continue
        peak = max(v for _, v in values) or 1.0
        points = " ".join(
            f"{PAD + t / duration * (WIDTH - 2 * PAD):.1f},{HEIGHT - PAD - v / peak * (HEIGHT - 2 * PAD):.1f}"
            for t, v in values
        )
        label = f"loudness (peak {peak + LOUDNESS_FLOOR_DBFS:.1f} dBFS)" if name == "loudness" else ""
        lines.append(Line(name, points, round(peak, 3), label))
    if not lines:
        return None
    step = max(1, round(duration / 6))
    ticks = [(PAD + s / duration * (WIDTH - 2 * PAD), float(s)) for s in range(0, int(duration) + 1, step)]
    return Chart(lines, duration, ticks)
