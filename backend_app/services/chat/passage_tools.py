"""The model's tools over what was said, shown on screen and written in documents, and the people
recognised: the part of ``tools.Toolbox`` that reads the passage index (``passage_search``) and
the reports' face clusters, always in the turn's own scope.

``search_passages`` finds (or, without words, lists in order) speech, on-screen text and pages;
``people`` lists each video's people with their shots; ``read_page`` returns one page's text and
headings. A passage gets a ``ref`` like a shot, and is cited as its DESIGN.md citation; a video
or document outside the scope answers "not found". The names the toolbox shares live here too.
"""

from __future__ import annotations

from typing import Any

from backend_app.models.passage import KINDS as PASSAGE_KINDS
from backend_app.services.chat import passage_search, sources
from backend_app.services.chat.facts import Shot
from backend_app.services.chat.phrasing import cite, clock
from backend_app.services.chat.query import terms as query_terms

MAX_SHOTS, MAX_VIDEOS, MAX_TEXT, MAX_RESULT_CHARS = 8, 20, 160, 4000
MAX_PAGE_CHARS = 1500
NOT_FOUND = {"error": "not found"}
VIDEO_ARG = {"type": "string", "description": "Limit to one video: its filename or analysis_id (omit for all)."}
Cited = Shot | dict  # what a ref points at: a shot, or a passage's citation


class BadCall(ValueError):
    """A call the model must correct: its message goes back to the model."""


def cite_item(item: Cited) -> dict:
    """The citation of a ref: a shot's, or the passage citation itself."""
    return item if isinstance(item, dict) else cite(item)


def tool_function(name: str, description: str, properties: dict, required: tuple[str, ...] = ()) -> dict:
    parameters = {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


DEFINITIONS: list[dict[str, Any]] = [
    tool_function(
        "search_passages",
        "Find what is said in the videos (speech, with its second), text seen on screen (text), or "
        "document pages (page) holding words; without text, list them in order (a transcript).",
        {
            "text": {"type": "string", "description": "Words to look for (omit to list in order)."},
            "kind": {"type": "string", "enum": list(PASSAGE_KINDS)},
            "video": VIDEO_ARG,
            "document": {"type": "string", "description": "Limit to one document: its filename."},
        },
    ),
    tool_function(
        "people",
        "The people recognised in each video (Person A, B, …: one face across shots) and their shots.",
        {"video": VIDEO_ARG},
    ),
    tool_function(
        "read_page",
        "The text and headings of one page of a document (page 1 is the first).",
        {"document": {"type": "string"}, "page": {"type": "integer", "minimum": 1}},
        ("document", "page"),
    ),
]


class PassageTools:
    """The passage and people tools; ``tools.Toolbox`` gives ``facts``, ``ref``, ``_video`` and ``_shot``."""

    def _document(self, named) -> passage_search.Source:
        """The document a call names (filename or id), inside the scope; else "not found"."""
        if not isinstance(named, str) or not named.strip():
            raise BadCall("document must be a filename")
        for document in passage_search.documents(self.facts.tenant):
            if named in (document.id, document.filename) or named.casefold() == document.filename.casefold():
                return document
        raise BadCall("not found")

    def _passage(self, hit: passage_search.PassageHit, terms: list[str] | None = None) -> dict:
        citation = sources.cite_passage(hit, terms)
        entry = {"ref": self.ref(citation), "kind": hit.kind}
        if hit.kind == "page":
            entry.update(document=hit.filename, page=hit.page)
        else:
            entry.update(video=hit.filename, start=clock(hit.start_s or 0.0), end=clock(hit.end_s or 0.0))
        entry["text"] = hit.text[:MAX_TEXT] if hit.kind != "page" else citation["snippet"][:MAX_TEXT]
        return entry

    def _search_passages(self, args: dict) -> dict:
        text, kind = args.get("text"), args.get("kind")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise BadCall("text must be words to look for")
        if kind is not None and kind not in PASSAGE_KINDS:
            raise BadCall(f"kind must be one of {list(PASSAGE_KINDS)}")
        video = self._video(args)
        document = self._document(args["document"]) if args.get("document") not in (None, "") else None
        scope = {
            "kinds": (kind,) if kind else None,
            "analysis_id": video.analysis_id if video else None,
            "document_id": document.id if document else None,
        }
        if text is None:
            hits = passage_search.listing(self.facts.tenant, limit=MAX_SHOTS, **scope)
        else:
            hits = passage_search.search(self.facts.tenant, text[:200], limit=MAX_SHOTS, **scope)
        terms = query_terms(text or "")
        return {"passages": [self._passage(h, terms) for h in hits], "total": len(hits)}

    def _people(self, args: dict) -> dict:
        video = self._video(args)
        listed = []
        for v in [video] if video else self.facts.videos()[:MAX_VIDEOS]:
            if not v.people:
                continue
            people = [
                {"label": p.label, "shots": [self._shot(s) for s in v.shots if s.index in p.shots][:MAX_SHOTS]}
                for p in v.people
            ]
            listed.append({"video": v.filename, "analysis_id": v.analysis_id, "people": people})
        return {"videos": listed, "total": sum(len(v["people"]) for v in listed)}

    def _read_page(self, args: dict) -> dict:
        number = args.get("page")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise BadCall("page must be an integer from 1")
        document = self._document(args.get("document"))
        found = passage_search.listing(
            self.facts.tenant, kinds=("page",), document_id=document.id, page=number, limit=1
        )
        if not found:
            return NOT_FOUND
        hit = found[0]
        citation = {**sources.cite_passage(hit), "snippet": sources.summary(hit.text, 2, 220)}
        return {
            "ref": self.ref(citation),
            "document": document.filename,
            "page": number,
            "headings": sources.page_headings(hit),
            "text": hit.text[:MAX_PAGE_CHARS],
        }
