"""Study material from documents: a summary, key terms, flashcards and a quiz, each item citing its page.

``offline`` builds it from the pages' own sentences; ``llm`` asks the model (schema-validated
JSON, one repair, then the offline path); ``material`` runs it as a job and caches it;
``reviews`` keeps each user's spaced repetition; ``export`` writes the files. The feature's
lifecycle hooks are registered by ``hooks.init_app``, called from the factory.
"""
