"""The facts of a tenant's analysed videos, for answering questions (and, later, for model tools).

Everything is read from the stored reports of the tenant's completed analyses, through
``tenancy.scoped`` (user, and session when the tenant is narrowed to one): a fact from another
user's or another session's video cannot be loaded, because the only query this module runs is
that scoped one. Only the report parts answers need are selected (``shots``, ``warnings``,
``metadata.duration_s``, ``texts``, ``people``, ``analysers``), not the timeline; one query per ``Facts`` object, which
caches them for the request (per-user data is small: tens of videos, hundreds of shots).

The API (what the openai tool path will expose as functions; every call stays in the scope):
- ``Facts(tenant)``: the scope; ``videos() -> list[Video]`` newest first ("list videos").
- ``find_video(text) -> Video | None``: the video a question names (filename, with or without
  its extension).
- ``shots(video=None) -> list[Shot]``: every shot of the scope (or of one video), in order.
- ``get_shot(analysis_id, index) -> Shot | None``: one shot ("get a shot"); index 0-based.
- ``search_shots(predicate=None, *, colour=None, video=None) -> list[Shot]``: shots that have a
  thing (faces, a QR code, a colour family) ("search shots").
- ``aggregate(measure, order, k=1, video=None) -> list[Shot]``: the top-k shots by a measure
  (``MEASURES``), ``order`` "max" or "min", ties kept together ("aggregate a measure").
- ``count(what, video=None) -> int``: shots, videos, faces, qr codes, shots with faces.
- ``at_time(seconds, video=None) -> list[Shot]``: the shot running at that second, per video.
- ``nth(n, video=None) -> list[Shot]``: the n-th shot (0-based; -1 the last), per video.
- ``neighbour(shot, step) -> Shot | None``: the shot before (-1) or after (+1).
``Shot.label`` is the human label ("Shot 1" for index 0).
- ``Video.people``: the people (face clusters) the report recognised, each with its shots; a
  shot's ``people`` are their labels ("Person A"). Clusters are per video and per user only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend_app.extensions import db
from backend_app.models import Analysis
from backend_app.services.chat.lexicon import QUESTION_WORDS
from backend_app.services.chat.query import fold, words
from backend_app.tenancy import Tenant, scoped

# measure name -> how to read it from a shot; "higher" says what "max" means in words.
MEASURES: dict[str, Callable[[Shot], float]] = {
    "brightness": lambda s: s.brightness,
    "motion": lambda s: s.motion,
    "sharpness": lambda s: s.sharpness,
    "duration": lambda s: s.duration,
    "faces": lambda s: float(s.faces),
}
# Colour names the analysis writes, by the everyday family a question uses.
COLOUR_FAMILIES = {
    "red": {"red", "dark red", "maroon", "crimson"},
    "green": {"green", "lime", "dark green", "olive"},
    "blue": {"blue", "navy", "sky blue", "dark blue", "light blue"},
    "yellow": {"yellow", "gold"},
    "orange": {"orange"},
    "purple": {"purple", "violet", "magenta"},
    "pink": {"pink"},
    "white": {"white"},
    "black": {"black"},
    "gray": {"gray", "silver"},
    "brown": {"brown", "skin"},
    "cyan": {"cyan", "teal"},
}


@dataclass(frozen=True)
class Shot:
    analysis_id: str
    filename: str
    session_id: str
    index: int
    start_s: float
    end_s: float
    brightness: float
    motion: float
    sharpness: float
    faces: int
    qr_texts: tuple[str, ...]
    colours: tuple[str, ...]
    blurry: bool
    description: str
    warnings: tuple[str, ...]
    people: tuple[str, ...] = ()  # labels of the people recognised in the shot ("Person A")

    @property
    def duration(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    @property
    def label(self) -> str:
        """The human label: counts from 1."""
        return f"Shot {self.index + 1}"


@dataclass(frozen=True)
class Person:
    """One face cluster of a video: "Person A" and the shots (0-based) it appears in."""

    id: str
    label: str
    shots: tuple[int, ...]


@dataclass(frozen=True)
class Video:
    analysis_id: str
    filename: str
    session_id: str
    duration_s: float
    shots: tuple[Shot, ...]
    warnings: tuple[str, ...]
    texts: tuple[dict, ...]  # on-screen text, when the report has it (``texts``)
    people: tuple[Person, ...] = ()  # face clusters, when the report has them (``people``)
    analysers: tuple[dict, ...] = ()  # how each AI analyser fared on it (``analysers``: name, state, reason)

    def brightness(self) -> float:
        """Duration-weighted mean brightness."""
        total = sum(s.duration for s in self.shots)
        return sum(s.brightness * s.duration for s in self.shots) / total if total else 0.0


def _num(value, default: float = 0.0) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _people(raw) -> tuple[Person, ...]:
    """The report's ``people`` as Persons (malformed entries skipped), labelled "Person A"… when unlabelled."""
    entries = [p for p in raw if isinstance(p, dict)] if isinstance(raw, list) else []
    found = []
    for n, item in enumerate(entries):
        indexes = {i for i in item.get("shots") or [] if isinstance(i, int) and not isinstance(i, bool)}
        label = str(item.get("label") or f"Person {chr(ord('A') + n % 26)}")[:40]
        found.append(Person(str(item.get("id", n)), label, tuple(sorted(indexes))))
    return tuple(found)


def _shot(row, raw: dict, warnings: dict[int, list[str]], people: tuple[Person, ...] = ()) -> Shot:
    index = int(raw.get("index", 0))
    return Shot(
        analysis_id=row.id,
        filename=row.filename,
        session_id=row.session_id,
        index=index,
        start_s=_num(raw.get("start_s")),
        end_s=_num(raw.get("end_s")),
        brightness=_num(raw.get("brightness")),
        motion=_num(raw.get("motion")),
        sharpness=_num(raw.get("sharpness")),
        faces=int(_num(raw.get("faces"))),
        qr_texts=tuple(str(t) for t in raw.get("qr_texts") or []),
        colours=tuple(str(c.get("name")) for c in raw.get("colors") or [] if isinstance(c, dict)),
        blurry=bool(raw.get("blurry")),
        description=str(raw.get("description") or ""),
        warnings=tuple(warnings.get(index, [])),
        people=tuple(p.label for p in people if index in p.shots),
    )


class Facts:
    """The tenant's analysed videos, loaded once (one scoped query) and answered from memory."""

    def __init__(self, tenant: Tenant):
        if not isinstance(tenant, Tenant):
            raise TypeError("Facts needs a Tenant")
        self.tenant = tenant
        self._videos: list[Video] | None = None

    def _load(self) -> list[Video]:
        report = Analysis.__table__.c.report
        query = (
            scoped(Analysis, self.tenant)
            .with_only_columns(
                Analysis.id,
                Analysis.filename,
                Analysis.session_id,
                report["shots"].label("shots"),
                report["warnings"].label("warnings"),
                report["metadata"]["duration_s"].label("duration_s"),
                report["texts"].label("texts"),
                report["people"].label("people"),
                report["analysers"].label("analysers"),
            )
            .where(Analysis.report.is_not(None))
            .order_by(Analysis.created_at.desc(), Analysis.id)
        )
        videos = []
        for row in db.session.execute(query):
            by_shot: dict[int, list[str]] = {}
            codes = []
            for warning in row.warnings if isinstance(row.warnings, list) else []:
                if isinstance(warning, dict) and warning.get("code"):
                    codes.append(str(warning["code"]))
                    for index in warning.get("shots") or []:
                        by_shot.setdefault(index, []).append(str(warning["code"]))
            raw_shots = [s for s in row.shots if isinstance(s, dict)] if isinstance(row.shots, list) else []
            people = _people(row.people)
            shots = tuple(sorted((_shot(row, s, by_shot, people) for s in raw_shots), key=lambda s: s.index))
            duration = _num(row.duration_s, shots[-1].end_s if shots else 0.0)
            texts = tuple(t for t in row.texts if isinstance(t, dict)) if isinstance(row.texts, list) else ()
            ran = tuple(a for a in row.analysers if isinstance(a, dict)) if isinstance(row.analysers, list) else ()
            videos.append(
                Video(row.id, row.filename, row.session_id, duration, shots, tuple(codes), texts, people, ran)
            )
        return videos

    def videos(self) -> list[Video]:
        if self._videos is None:
            self._videos = self._load()
        return self._videos

    def video(self, analysis_id: str) -> Video | None:
        return next((v for v in self.videos() if v.analysis_id == analysis_id), None)

    def find_video(self, text: str) -> Video | None:
        """The video whose filename the text names; the longest name wins. Its stem alone
        ("archive" for archive.mp4) counts unless the stem is a word questions use anyway
        ("faces" in "which shot has the most faces?" is not faces.mp4)."""
        folded = " " + " ".join(fold(w) for w in words(text)) + " "
        best = None
        for video in self.videos():
            name = [fold(w) for w in words(video.filename)]
            stem = name[:-1] if len(name) > 1 else name
            forms = [name] if set(stem) & QUESTION_WORDS else [name, stem]
            for form in forms:
                if form and f" {' '.join(form)} " in folded and (best is None or len(form) > best[0]):
                    best = (len(form), video)
        return best[1] if best else None

    def shots(self, video: Video | None = None) -> list[Shot]:
        return list(video.shots) if video else [s for v in self.videos() for s in v.shots]

    def get_shot(self, analysis_id: str, index: int) -> Shot | None:
        video = self.video(analysis_id)
        return next((s for s in video.shots if s.index == index), None) if video else None

    def neighbour(self, shot: Shot, step: int) -> Shot | None:
        return self.get_shot(shot.analysis_id, shot.index + step)

    def search_shots(
        self, predicate: Callable[[Shot], bool] | None = None, *, colour: str | None = None, video: Video | None = None
    ) -> list[Shot]:
        names = COLOUR_FAMILIES.get(colour, {colour}) if colour else None
        return [
            s
            for s in self.shots(video)
            if (predicate is None or predicate(s)) and (names is None or names & set(s.colours))
        ]

    def aggregate(self, measure: str, order: str, k: int = 1, video: Video | None = None) -> list[Shot]:
        """The top-k shots by ``measure`` ("max"/"min"); shots tied with the k-th come along."""
        read = MEASURES[measure]
        ranked = sorted(self.shots(video), key=lambda s: (-read(s) if order == "max" else read(s), s.start_s))
        if not ranked:
            return []
        cut = read(ranked[min(k, len(ranked)) - 1])
        return [s for n, s in enumerate(ranked) if n < k or read(s) == cut]

    def count(self, what: str, video: Video | None = None) -> int:
        shots = self.shots(video)
        counts = {
            "shots": lambda: len(shots),
            "videos": lambda: 1 if video else len(self.videos()),
            "faces": lambda: sum(s.faces for s in shots),
            "shots_with_faces": lambda: sum(1 for s in shots if s.faces),
            "qr": lambda: sum(len(s.qr_texts) for s in shots),
        }
        return counts[what]()

    def at_time(self, seconds: float, video: Video | None = None) -> list[Shot]:
        found = []
        for v in [video] if video else self.videos():
            inside = [s for s in v.shots if s.start_s <= seconds < s.end_s]
            if not inside and v.shots and seconds == v.shots[-1].end_s:
                inside = [v.shots[-1]]
            found += inside[:1]
        return found

    def nth(self, n: int, video: Video | None = None) -> list[Shot]:
        found = []
        for v in [video] if video else self.videos():
            if -len(v.shots) <= n < len(v.shots):
                found.append(v.shots[n])
        return found
