"""Temp dirs of video runs under ``DATA_DIR/tmp``: where a run works, and how a killed one's go.

The analysis (services/video/analyse.py) works in a dir named after its job; the worker
(jobs/workers.py) removes what a run left once its horse has ended, however it ended; the
pipeline check (services/video/pipeline_check.py) works under the same root.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile

from flask import current_app

from backend_app.adapters.storage import ObjectNotFound, get_storage
from backend_app.queue.errors import JobFailure, RetryableFailure

TEMP_PREFIX = "video-"


def temp_root(settings) -> str:
    """``DATA_DIR/tmp``, created when missing."""
    root = os.path.join(settings.data_dir, "tmp")
    os.makedirs(root, exist_ok=True)
    return root


def make_workdir(settings, run_id: str) -> str:
    """A fresh temp dir for one run of job ``run_id`` (the caller removes it)."""
    return tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{run_id}-", dir=temp_root(settings))


def download_source(storage_key: str, path: str, what: str) -> str:
    """Download a run's source object (``what``: "video", "document") to ``path`` in its temp dir.

    Gone from storage: JobFailure; any other error (network, S3): RetryableFailure, worth another
    attempt. Both with the code STORAGE_DOWNLOAD_FAILED."""
    try:
        get_storage().download_to(storage_key, path)
    except ObjectNotFound:
        raise JobFailure("STORAGE_DOWNLOAD_FAILED", f"The uploaded {what} is not in storage.") from None
    except Exception as exc:  # network, S3 errors: worth another attempt
        raise RetryableFailure("STORAGE_DOWNLOAD_FAILED", f"Downloading the {what} failed: {exc}"[:500]) from None
    return path


def remove_temp_of(job_id: str) -> list[str]:
    """Remove what a run of this job left under ``DATA_DIR/tmp``; the names removed.

    A run removes its own temp dir on every exit it lives to see; a work horse killed (stopped
    because its analysis was deleted, out of memory, at the hard limit) does not, and the source
    video would stay there until the hourly purge of old temp files. The worker calls this
    when its horse has ended, however it ended."""
    root = temp_root(current_app.config["SETTINGS"])
    removed = sorted(glob.glob(os.path.join(glob.escape(root), f"{TEMP_PREFIX}{job_id}-*")))
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return [os.path.basename(p) for p in removed]
