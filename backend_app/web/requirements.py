"""Requirements pages: check one requirement (findings highlighted in the text the page holds)."""

from __future__ import annotations

from flask import g, render_template, request

from backend_app.auth import current_tenant
from backend_app.errors import AppError
from backend_app.models import RequirementBatch
from backend_app.observability import request_elapsed_s
from backend_app.services.requirements import criteria
from backend_app.services.requirements.rules import RULES
from backend_app.services.requirements.single import MAX_TEXT_CHARS, answer
from backend_app.tenancy import list_owned
from backend_app.variant import current_variant, serve_v1_instead
from backend_app.web import bp, fragment_or_page, page_login_required
from backend_app.web.highlight import score_class, segments

MODES = {"evaluate": "Evaluate", "suggest": "Suggest fixes", "rewrite": "Rewrite"}
RECENT_BATCHES = 10


def page_context(**extra) -> dict:
    return {
        "catalogue": criteria.catalogue(RULES),
        "modes": MODES,
        "max_chars": MAX_TEXT_CHARS,
        "score_class": score_class,
        "variant": current_variant(),
        **extra,
    }


def recent_batches(limit: int = RECENT_BATCHES) -> list[RequirementBatch]:
    """The signed-in user's latest batches, newest first."""
    return list_owned(RequirementBatch, current_tenant(), order_by=RequirementBatch.created_at.desc(), limit=limit)


@bp.get("/requirements")
@page_login_required
def requirements_page():
    return render_template(
        "requirements/index.html", batches=recent_batches(), **page_context(text="", mode="evaluate", chosen=[])
    )


@bp.post("/requirements/check")
@page_login_required
def requirement_check_page():
    """Answer one requirement; the response highlights the findings in the text just sent."""
    text, mode = request.form.get("requirementText", ""), request.form.get("mode", "evaluate")
    chosen = request.form.getlist("criteria")
    mode = mode if mode in MODES else "evaluate"
    result, error = None, None
    try:
        result = answer(
            {"requirementText": text, "criteriaKeys": chosen or None},
            mode,
            variant=current_variant(),
            user_id=g.user.id,
            on_fallback=serve_v1_instead,
            spent_s=request_elapsed_s(),
        )
    except AppError as exc:
        error = exc
    context = page_context(
        text=text,
        mode=mode,
        chosen=chosen,
        result=result,
        error=error,
        segments=segments(text, result["findings"]) if result else [],
    )
    response = fragment_or_page("requirements/index.html", "partials/requirements/_result.html", **context)
    if error is not None:
        response.status_code = 200 if request.headers.get("HX-Request") else error.status
    return response
