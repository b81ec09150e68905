-- Stock health per store and product on the last snapshot day (AS_OF_DATE, from the data), with the stock-outs
-- of the trailing demand window: how many days, the last one, and the units they likely cost.
{%- set window = var('demand_window_days', 28) %}
with daily as (
    select
        STORE_ID, PRODUCT_ID, SNAPSHOT_DATE, ON_HAND, ON_ORDER, REORDER_POINT, UNITS_SOLD, AVG_DAILY_DEMAND,
        DAYS_OF_COVER, AVG_DAYS_OF_COVER_7D, IS_STOCK_OUT, STOCK_OUT_RISK, IS_EXCESS_STOCK, IS_NOT_SELLING,
        SUGGESTED_REORDER_QTY
    from {{ ref('inventory_health_daily') }}
),

as_of as (
    select max(SNAPSHOT_DATE) as AS_OF_DATE from daily
),

history as (
    select
        d.STORE_ID,
        d.PRODUCT_ID,
        sum(case when d.IS_STOCK_OUT then 1 else 0 end) as STOCK_OUT_DAYS,
        min(case when d.IS_STOCK_OUT then d.SNAPSHOT_DATE end) as FIRST_STOCK_OUT_DATE,
        max(case when d.IS_STOCK_OUT then d.SNAPSHOT_DATE end) as LAST_STOCK_OUT_DATE,
        sum(d.UNITS_SOLD) as UNITS_SOLD_IN_WINDOW,
        count(*) as DAYS_IN_WINDOW
    from daily as d
    cross join as_of as a
    where d.SNAPSHOT_DATE > cast({{ dbt.dateadd('day', -window, 'a.AS_OF_DATE') }} as date)
    group by d.STORE_ID, d.PRODUCT_ID
)

select
    d.STORE_ID,
    s.STORE_NAME,
    d.PRODUCT_ID,
    p.PRODUCT_NAME,
    p.CATEGORY,
    a.AS_OF_DATE,
    d.ON_HAND,
    d.ON_ORDER,
    d.REORDER_POINT,
    d.AVG_DAILY_DEMAND,
    d.DAYS_OF_COVER,
    d.AVG_DAYS_OF_COVER_7D,
    d.IS_STOCK_OUT,
    d.STOCK_OUT_RISK,
    d.IS_EXCESS_STOCK,
    d.IS_NOT_SELLING,
    d.SUGGESTED_REORDER_QTY,
    cast(d.SUGGESTED_REORDER_QTY * p.COST as {{ money_type() }}) as SUGGESTED_REORDER_COST,
    cast(d.ON_HAND * p.COST as {{ money_type() }}) as STOCK_VALUE_AT_COST,
    h.DAYS_IN_WINDOW,
    h.UNITS_SOLD_IN_WINDOW,
    h.STOCK_OUT_DAYS,
    h.FIRST_STOCK_OUT_DATE,
    h.LAST_STOCK_OUT_DATE,
    round(h.STOCK_OUT_DAYS * coalesce(d.AVG_DAILY_DEMAND, 0), 2) as EST_LOST_UNITS,
    case
        when d.IS_STOCK_OUT then 'out_of_stock'
        when d.STOCK_OUT_RISK = 'high' then 'stock_out_risk'
        when d.IS_NOT_SELLING then 'not_selling'
        when d.IS_EXCESS_STOCK then 'excess'
        when d.SUGGESTED_REORDER_QTY > 0 then 'reorder'
        else 'healthy'
    end as HEALTH_STATUS
from daily as d
inner join as_of as a on d.SNAPSHOT_DATE = a.AS_OF_DATE
inner join history as h on h.STORE_ID = d.STORE_ID and h.PRODUCT_ID = d.PRODUCT_ID
left join {{ ref('stores_clean') }} as s on s.STORE_ID = d.STORE_ID
left join {{ ref('products_clean') }} as p on p.PRODUCT_ID = d.PRODUCT_ID
