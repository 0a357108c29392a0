"""Requirements quality: the v1 rule engine, the v2 LLM evaluator, batches, streams and exports.

Import-light on purpose: importing the pure rule engine (``engine``) loads no database or queue
code. The area's lifecycle hooks are registered by ``hooks.init_app``, called from the factory.
"""
