{#- Generic test: the listed columns together identify a row (a composite unique key). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as ROW_COUNT
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
