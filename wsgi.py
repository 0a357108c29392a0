"""gunicorn entry point: `gunicorn wsgi:app`."""

from backend_app import create_app

app = create_app()
