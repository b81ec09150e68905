{#- A custom schema is used as it is, upper-cased, without the target schema as prefix: models land in SILVER,
    GOLD and SNAPSHOTS of the retail database, the names the pipelines use, whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim | upper }}
    {%- else -%}
        {{ custom_schema_name | trim | upper }}
    {%- endif -%}
{%- endmacro %}
