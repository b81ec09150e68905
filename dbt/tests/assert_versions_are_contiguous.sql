-- Business rule (SCD2): a customer's or product's versions follow each other without gap or overlap, and only
-- the last one is current and open-ended.
{% for model, key in [('customer_versions', 'CUSTOMER_ID'), ('product_versions', 'PRODUCT_ID')] %}
select '{{ model }}' as MODEL_NAME, cast({{ key }} as {{ dbt.type_string() }}) as ENTITY_KEY, VRSN_STRT_DTS
from (
    select
        {{ key }}, VRSN_STRT_DTS, VRSN_END_DTS, IS_CURRENT,
        lead(VRSN_STRT_DTS) over (partition by {{ key }} order by VRSN_STRT_DTS) as NEXT_STRT_DTS
    from {{ ref(model) }}
) as v
where (NEXT_STRT_DTS is not null and (NEXT_STRT_DTS <> VRSN_END_DTS or IS_CURRENT))
   or (NEXT_STRT_DTS is null and (not IS_CURRENT
       or VRSN_END_DTS <> cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})))
   or VRSN_END_DTS <= VRSN_STRT_DTS
{% if not loop.last %}union all{% endif %}
{% endfor %}
