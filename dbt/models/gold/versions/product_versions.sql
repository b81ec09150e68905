-- Every version of every product (the original GOLD PRODUCT_VIEW over product_snapshot): VRSN_STRT_DTS /
-- VRSN_END_DTS, the current version open-ended (9999-12-31).
select
    PRODUCT_ID,
    DBT_SCD_ID as VERSION_ID,
    DBT_VALID_FROM as VRSN_STRT_DTS,
    coalesce(DBT_VALID_TO, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})) as VRSN_END_DTS,
    DBT_VALID_TO is null as IS_CURRENT,
    PRODUCT_NAME,
    CATEGORY,
    PRICE,
    COST,
    UNIT_MARGIN,
    UPDATE_DTS
from {{ ref('products_snapshot') }}
