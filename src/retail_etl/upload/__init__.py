"""``retail-etl upload``: data files to their pipelines' stage locations, routed, checked and idempotent.

- :mod:`.routing` (pure): which pipeline and key each file goes to (:func:`~.routing.route_files`).
- :mod:`.results`: the decision for one file (:func:`~.results.settle`) and the records of outcomes, including
  :class:`~.results.UploadedFile`, what the local target's ingest hook receives.
- :mod:`.engine`: runs a batch through a store, in parallel (:func:`~.engine.upload_all`).
- :mod:`.s3` (imports boto3) and :mod:`.folder` (the local target): the stores.
- :mod:`.watch`: ``--watch DIR``. :mod:`.feedback`: progress, lines, summary. :mod:`.command`: the Typer command.

Nothing is imported here: the CLI imports :mod:`.command` at start-up, and the rest loads when a command runs.
"""
