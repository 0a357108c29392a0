"""Admin page: health, refreshing itself."""

from __future__ import annotations

from backend_app.services import health
from backend_app.web import bp, fragment_or_page, page_admin_required

HEALTH_REFRESH_S = 5


@bp.get("/admin/health")
@page_admin_required
def admin_health_page():
    healthy, report = health.full_report()
    response = fragment_or_page(
        "admin/health.html", "partials/admin/_health.html", healthy=healthy, report=report, refresh_s=HEALTH_REFRESH_S
    )
    response.status_code = 200  # the page itself worked; the report says what is degraded
    return response
