"""Background work: the enqueue seam, the runner and one module per job kind."""
