"""The worker side: the runner, the RQ worker, the periodic process and one thin module per job family."""
