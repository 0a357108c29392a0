"""Requirements quality: the v1 rule engine, the v2 LLM evaluator, batches, streams and exports.

The rule engine (``engine``, ``rules``, ``lexicon``, ``criteria``, ``rewrite``, ``markdown``)
is pure: importing it loads no database, queue or Redis code, so this file imports nothing.
The area's lifecycle hooks are registered by ``hooks.init_app``, called from the factory.
"""
