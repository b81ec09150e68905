{#- Text cleaning shared by the silver models. -#}

{#- Trimmed text, NULL when nothing is left. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}

{#- Proper case: first letter of every word upper, the rest lower; words split on spaces and hyphens
    ('  kim-MARTIN ' -> 'Kim-Martin'). Snowflake has INITCAP; DuckDB has none, so it is spelled out there. -#}
{% macro proper_case(expr) -%}
    {{ return(adapter.dispatch('proper_case', 'retail')(expr)) }}
{%- endmacro %}

{% macro default__proper_case(expr) -%}
    initcap({{ expr }}, ' -')
{%- endmacro %}

{% macro duckdb__proper_case(expr) -%}
    array_to_string(list_transform(string_split(lower({{ expr }}), ' '), lambda word:
        array_to_string(list_transform(string_split(word, '-'), lambda part:
            upper(left(part, 1)) || substr(part, 2)), '-')), ' ')
{%- endmacro %}

{#- The customer key: a hash of the cleaned first and last names (the pipelines' merge keys). -#}
{% macro customer_key(first_name, last_name) -%}
    {{ dbt.hash(dbt.concat([first_name, "'|'", last_name])) }}
{%- endmacro %}

{#- Division in double precision that yields NULL instead of failing (Snowflake) when the divisor is zero.
    (dbt.type_float() is FLOAT, a double on Snowflake but a 4-byte REAL on DuckDB: DOUBLE PRECISION is a double
    on both.) -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as double precision) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- Money: exact decimals with cents on both engines, so totals reconcile to the cent. -#}
{% macro money_type() -%}
    numeric(18, 2)
{%- endmacro %}
