-- One row per product, typed, names and categories trimmed, with the unit margin.
with ranked as (
    select
        cast(PRODUCT_ID as {{ dbt.type_int() }}) as PRODUCT_ID,
        {{ clean_text('PRODUCT_NAME') }} as PRODUCT_NAME,
        {{ proper_case(clean_text('CATEGORY')) }} as CATEGORY,
        cast(PRICE as {{ money_type() }}) as PRICE,
        cast(COST as {{ money_type() }}) as COST,
        UPDATE_DTS,
        row_number() over (partition by PRODUCT_ID order by UPDATE_DTS desc, INSERT_DTS desc) as RECENCY_RANK
    from {{ source('silver', 'PRODUCT') }}
    where PRODUCT_ID is not null
)

select
    PRODUCT_ID,
    PRODUCT_NAME,
    coalesce(CATEGORY, 'Unknown') as CATEGORY,
    PRICE,
    COST,
    cast(PRICE - COST as {{ money_type() }}) as UNIT_MARGIN,
    UPDATE_DTS
from ranked
where RECENCY_RANK = 1
