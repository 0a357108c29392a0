"""Study pages of a document or a session: the material (polling while it is made), flashcards
with spaced repetition, and a quiz that scores answers (the API: api/study.py).

Every route exists under /documents/<id>/study and /sessions/<id>/study; ``scope`` says which.
"""

from __future__ import annotations

from flask import Response, redirect, render_template, request

from backend_app.auth import current_tenant
from backend_app.errors import AppError, NotFound, is_htmx
from backend_app.services.study import material, reviews
from backend_app.web import bp, fragment_or_page, page_login_required

BASES = {"document": "/documents/<document_id>/study", "session": "/sessions/<session_id>/study"}


def _route(suffix: str, **options):
    """The view under both bases, as ``web.document_<name>`` and ``web.session_<name>``; it is
    called with ``(scope, target_id)``."""

    def decorate(view):
        for scope, base in BASES.items():

            def routed(scope: str = scope, **ids: str):
                return view(scope, next(iter(ids.values())))

            routed.__name__ = routed.__qualname__ = f"{scope}_{view.__name__}"
            routed.__doc__ = view.__doc__
            bp.add_url_rule(base + suffix, view_func=page_login_required(routed), **options)
        return view

    return decorate


def _page_link(scope: str, target_id: str):
    """Where an item's page opens: the document viewer at that page."""

    def link(item: dict) -> str:
        document_id = item.get("document_id") or (target_id if scope == "document" else None)
        return f"/documents/{document_id}?page={int(item['page'])}"

    return link


def _context(scope: str, target_id: str, row, **more) -> dict:
    return {"scope": scope, "target_id": target_id, "m": row, "state": row.state() if row else None,
            "page_link": _page_link(scope, target_id), **more}  # fmt: skip


def _material_or_none(scope: str, target_id: str):
    try:
        return material.get(current_tenant(), scope, target_id)
    except NotFound as exc:
        if exc.code != "STUDY_NOT_FOUND":
            raise
        return None


@_route("", methods=["GET"])
def study_page(scope: str, target_id: str):
    row = _material_or_none(scope, target_id)
    return fragment_or_page("study/study.html", "partials/study/_material.html", **_context(scope, target_id, row))


@_route("", methods=["POST"])
def request_study_page(scope: str, target_id: str):
    error = None
    try:
        material.request(current_tenant(), scope, target_id)
    except AppError as exc:
        if exc.status == 404:
            raise
        error = exc.message
    if not is_htmx() and not error:
        return redirect(request.path, code=303)
    row = _material_or_none(scope, target_id)
    return fragment_or_page(
        "study/study.html", "partials/study/_material.html", **_context(scope, target_id, row, error=error)
    )


def _made(scope: str, target_id: str):
    """The material, made; a page saying so when it is not made yet."""
    row = _material_or_none(scope, target_id)
    if row is None or row.data is None:
        return None
    return row


def _card_context(scope: str, target_id: str, row) -> dict:
    tenant = current_tenant()
    waiting = reviews.due(tenant, row)
    return _context(scope, target_id, row, card=waiting[0] if waiting else None, counts=reviews.counts(tenant, row))


@_route("/flashcards", methods=["GET"])
def flashcards_page(scope: str, target_id: str):
    row = _made(scope, target_id)
    if row is None:
        return render_template("study/not_made.html", what="Flashcards")
    return fragment_or_page(
        "study/flashcards.html", "partials/study/_card.html", **_card_context(scope, target_id, row)
    )


@_route("/flashcards/review", methods=["POST"])
def review_card_page(scope: str, target_id: str):
    row = material.get(current_tenant(), scope, target_id)
    reviews.record(current_tenant(), row, request.form.get("card", ""), request.form.get("knew") == "1")
    if not is_htmx():
        return redirect(request.path.rsplit("/", 1)[0], code=303)
    return Response(render_template("partials/study/_card.html", **_card_context(scope, target_id, row)))


@_route("/quiz", methods=["GET", "POST"])
def quiz_page(scope: str, target_id: str):
    row = _made(scope, target_id)
    if row is None:
        return render_template("study/not_made.html", what="Quiz")
    questions = row.data.get("quiz", [])
    scored = None
    if request.method == "POST":
        scored = [
            {**q, "given": request.form.get(f"q{i}"), "right": request.form.get(f"q{i}") == q["answer"]}
            for i, q in enumerate(questions)
        ]
    context = _context(scope, target_id, row, questions=questions, scored=scored,
                       score=sum(s["right"] for s in scored) if scored is not None else None)  # fmt: skip
    return fragment_or_page("study/quiz.html", "partials/study/_quiz.html", **context)
