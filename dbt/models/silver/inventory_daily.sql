-- One row per store, product and snapshot day, typed; a corrected snapshot (loaded later) wins.
with ranked as (
    select
        cast(STORE_ID as {{ dbt.type_int() }}) as STORE_ID,
        cast(PRODUCT_ID as {{ dbt.type_int() }}) as PRODUCT_ID,
        cast(SNAPSHOT_DATE as date) as SNAPSHOT_DATE,
        cast(ON_HAND as {{ dbt.type_int() }}) as ON_HAND,
        cast(ON_ORDER as {{ dbt.type_int() }}) as ON_ORDER,
        cast(REORDER_POINT as {{ dbt.type_int() }}) as REORDER_POINT,
        row_number() over (
            partition by STORE_ID, PRODUCT_ID, SNAPSHOT_DATE order by UPDATE_DTS desc, INSERT_DTS desc
        ) as RECENCY_RANK
    from {{ source('silver', 'INVENTORY') }}
    where STORE_ID is not null and PRODUCT_ID is not null and SNAPSHOT_DATE is not null
)

select STORE_ID, PRODUCT_ID, SNAPSHOT_DATE, ON_HAND, ON_ORDER, REORDER_POINT, ON_HAND <= 0 as IS_STOCK_OUT
from ranked
where RECENCY_RANK = 1
