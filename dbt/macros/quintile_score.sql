{#- Quintile score 1..5 of a row by `order_by` (worst first): ceil(5 * cume_dist), computed exactly. With k the
    rows ranking at or below this one (its ties included) and n all rows, the score is the smallest j with
    5k <= j * n: integer comparisons, no floating point, the same answer on every engine. -#}
{% macro quintile_score(order_by) -%}
    case
        {%- for j in range(1, 5) %}
        when 5 * count(*) over (order by {{ order_by }} range between unbounded preceding and current row)
             <= {{ j }} * count(*) over () then {{ j }}
        {%- endfor %}
        else 5
    end
{%- endmacro %}
