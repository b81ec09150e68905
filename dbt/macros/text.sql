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

{#- amount / count (a positive whole number) to the cent, half away from zero, exactly on both engines: DuckDB divides
    decimals in double precision, where 353.21 / 2 is 176.60499..., so ROUND would give 176.60. The quotient of whole
    cents is never within double precision's error of a whole number, so FLOAT is exact here. -#}
{% macro money_divide(amount, count) -%}
    cast(sign({{ amount }}) * floor((abs({{ amount }}) * 200 + {{ count }}) / (2 * nullif({{ count }}, 0))) / 100
         as {{ money_type() }})
{%- endmacro %}

{#- Week-over-week change as a fraction of last week: none when last week sold nothing or took back more than it
    sold (a ratio to a negative base has the wrong sign). -#}
{% macro growth_over(current, prior) -%}
    round(case when {{ prior }} > 0 then {{ safe_divide(current ~ ' - ' ~ prior, prior) }} end, 4)
{%- endmacro %}
