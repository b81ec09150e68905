{#- Snapshot validity (DBT_VALID_FROM / DBT_VALID_TO, and so VRSN_STRT_DTS / VRSN_END_DTS) in UTC wall-clock
    time on DuckDB too: dbt-snowflake writes to_timestamp_ntz(convert_timezone('UTC', current_timestamp())), while
    dbt-duckdb's current_timestamp::timestamp is the session's time zone (the local target's account time zone).
    The same SQL then gives the same history on both engines. -#}
{% macro duckdb__snapshot_get_time() -%}
  timezone('UTC', {{ current_timestamp() }})
{%- endmacro %}
