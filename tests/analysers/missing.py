"""A test double of an analyser whose package is not installed (see doubles.py)."""

from backend_app.adapters.ai.base import AnalyserInfo

INFO = AnalyserInfo(
    name="faces",
    input="keyframes",
    summary="needs a package nobody has (a test double)",
    cost="nothing",
    licence="MIT",
    requirements="requirements-ai.txt",
    packages=("json", "framewise_no_such_package"),
    size_mb=1,
    default=True,
)
