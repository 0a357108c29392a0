"""gunicorn settings for `make run` and bench/api.py (read automatically from the working dir).

Threaded workers keep Server-Sent Events (chat, batch progress) from blocking a process.
The Docker image passes its own flags on the command line, which take precedence.
"""

workers = 2
threads = 8
worker_class = "gthread"
timeout = 120
# No gunicorn access log: the app writes one structured JSON line per request (with its id).
accesslog = None
# The control socket (~/.gunicorn/gunicorn.ctl) is one path per user: several local instances
# (make run, tests, bench) would fight over it, and nothing here uses it.
control_socket_disable = True


def child_exit(_server, worker) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (make run, Docker), drop a dead worker's live gauges."""
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(_server) -> None:
    """Counters start from zero with the server: drop metric files a previous run left behind."""
    import os
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and Path(directory).is_dir():
        for leftover in Path(directory).glob("*.db"):
            leftover.unlink(missing_ok=True)
