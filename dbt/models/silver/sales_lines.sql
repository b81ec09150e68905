-- One row per order line (ORDER_ID, LINE_NUMBER), typed, with its amounts. A line loaded twice (a replayed file)
-- is one line: SILVER.SALES is already upserted on the key, and the latest version wins here as well.
-- Returns are lines with a negative quantity (and a negative discount). Names are cleaned as customers_clean
-- cleans them (once per distinct spelling, not per line), so CUSTOMER_ID matches.
with ranked as (
    select
        cast(ORDER_ID as {{ dbt.type_bigint() }}) as ORDER_ID,
        cast(LINE_NUMBER as {{ dbt.type_int() }}) as LINE_NUMBER,
        cast(ORDER_TS as {{ dbt.type_timestamp() }}) as ORDER_TS,
        cast(STORE_ID as {{ dbt.type_int() }}) as STORE_ID,
        FIRST_NAME as RAW_FIRST_NAME,
        LAST_NAME as RAW_LAST_NAME,
        cast(PRODUCT_ID as {{ dbt.type_int() }}) as PRODUCT_ID,
        cast(QUANTITY as {{ dbt.type_int() }}) as QUANTITY,
        cast(UNIT_PRICE as {{ money_type() }}) as UNIT_PRICE,
        cast(coalesce(DISCOUNT, 0) as {{ money_type() }}) as DISCOUNT,
        row_number() over (
            partition by ORDER_ID, LINE_NUMBER order by UPDATE_DTS desc, INSERT_DTS desc
        ) as RECENCY_RANK
    from {{ source('silver', 'SALES') }}
    where ORDER_ID is not null and LINE_NUMBER is not null
),

spellings as (
    select distinct RAW_FIRST_NAME, RAW_LAST_NAME
    from ranked
    where RAW_FIRST_NAME is not null and RAW_LAST_NAME is not null
),

names as (
    select
        RAW_FIRST_NAME,
        RAW_LAST_NAME,
        {{ proper_case(clean_text('RAW_FIRST_NAME')) }} as FIRST_NAME,
        {{ proper_case(clean_text('RAW_LAST_NAME')) }} as LAST_NAME
    from spellings
),

keyed as (
    select
        RAW_FIRST_NAME,
        RAW_LAST_NAME,
        FIRST_NAME,
        LAST_NAME,
        case when FIRST_NAME is not null and LAST_NAME is not null
             then {{ customer_key('FIRST_NAME', 'LAST_NAME') }} end as CUSTOMER_ID
    from names
)

select
    r.ORDER_ID,
    r.LINE_NUMBER,
    r.ORDER_TS,
    cast(r.ORDER_TS as date) as ORDER_DATE,
    r.STORE_ID,
    k.CUSTOMER_ID,
    k.FIRST_NAME,
    k.LAST_NAME,
    r.PRODUCT_ID,
    r.QUANTITY,
    r.UNIT_PRICE,
    r.DISCOUNT,
    cast(r.QUANTITY * r.UNIT_PRICE as {{ money_type() }}) as GROSS_AMOUNT,
    cast(r.QUANTITY * r.UNIT_PRICE - r.DISCOUNT as {{ money_type() }}) as NET_AMOUNT,
    r.QUANTITY < 0 as IS_RETURN
from ranked as r
left join keyed as k
    on k.RAW_FIRST_NAME = r.RAW_FIRST_NAME and k.RAW_LAST_NAME = r.RAW_LAST_NAME
where r.RECENCY_RANK = 1
