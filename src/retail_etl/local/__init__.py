"""The local target's runtime: Snowflake's data semantics on DuckDB (tables, streams, pipes, procedures, tasks).

The catalog of objects (what SHOW / DESC answer) is the emulated account in :mod:`retail_etl.emulator`; this
package holds the data and runs it.
"""
