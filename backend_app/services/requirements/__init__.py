"""Requirements quality: the v1 rule engine, the v2 LLM evaluator, batches, streams and exports.

Importing the package registers the area's retention purger and cleanup hooks.
"""

from backend_app.services.requirements import cleanup  # noqa: F401  (registers the purger, the session cleanup and the eraser)
