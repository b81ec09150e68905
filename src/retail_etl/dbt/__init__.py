"""``retail-etl dbt``: dbt runs from the same target configuration as retail-etl.

:mod:`.profile` builds the profiles.yml document and the ``--vars`` from the project (pure); :mod:`.runner` is the
thin boundary that runs dbt in-process through its Python API; :mod:`.command` is the CLI. dbt is imported only when
a dbt command runs.
"""
