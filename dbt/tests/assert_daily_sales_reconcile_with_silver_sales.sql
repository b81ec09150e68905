-- Business rule: gold sales add up to SILVER.SALES to the cent, per day and store (nothing lost or counted twice).
with silver as (
    select cast(ORDER_TS as date) as SALES_DATE, cast(STORE_ID as {{ dbt.type_int() }}) as STORE_ID,
           sum(QUANTITY * UNIT_PRICE - coalesce(DISCOUNT, 0)) as NET_SALES
    from {{ source('silver', 'SALES') }}
    group by cast(ORDER_TS as date), cast(STORE_ID as {{ dbt.type_int() }})
),

gold as (
    select SALES_DATE, STORE_ID, sum(NET_SALES) as NET_SALES
    from {{ ref('daily_sales') }}
    group by SALES_DATE, STORE_ID
)

select coalesce(s.SALES_DATE, g.SALES_DATE) as SALES_DATE, coalesce(s.STORE_ID, g.STORE_ID) as STORE_ID,
       s.NET_SALES as SILVER_NET_SALES, g.NET_SALES as GOLD_NET_SALES
from silver as s
full outer join gold as g on g.SALES_DATE = s.SALES_DATE and g.STORE_ID = s.STORE_ID
where s.NET_SALES is null or g.NET_SALES is null or s.NET_SALES <> g.NET_SALES
