"""MediaPipe 0.10.14's ``solutions`` (face detection, pose) without the rest of the package.

``import mediapipe`` runs its ``__init__``, which imports ``solutions.drawing_utils`` and so
matplotlib, and ``mediapipe.tasks`` (jax-era code): neither is installed (mediapipe goes in with
``--no-deps``). The package and its ``solutions`` folder are registered here as bare packages so
that only the submodule asked for, and what it imports itself, is loaded.

MediaPipe's runtime does not survive ``fork``: a graph made before the fork hangs in the child,
and even one made after crashes when the parent had run one (measured here). So a graph is made
lazily, per process (``base.per_process``): never in the worker before its work horses fork.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
import warnings

_lock = threading.Lock()


def _bare_package(name: str) -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    package = types.ModuleType(name)
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__package__ = name
    sys.modules[name] = package


def solution(name: str):
    """The module ``mediapipe.python.solutions.<name>`` (e.g. ``face_detection``, ``pose``)."""
    # protobuf 4.25 warns on every MediaPipe call about an API that MediaPipe 0.10.14 still uses
    warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
    with _lock:
        _bare_package("mediapipe")
        importlib.import_module("mediapipe.python")  # the framework bindings: no matplotlib there
        _bare_package("mediapipe.python.solutions")
    return importlib.import_module(f"mediapipe.python.solutions.{name}")
