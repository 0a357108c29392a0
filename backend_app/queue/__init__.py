"""Below the services: the enqueue seam, job kinds, job-row state, RQ's workers seen from outside,
the periodic tasks and the reconciler."""
