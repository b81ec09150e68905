-- Stock health per store, product and snapshot day. Demand is the average daily units sold over the trailing
-- demand_window_days snapshot days on which the product was in stock (a stock-out hides demand, it does not
-- remove it). Inventory snapshots are daily, so the windows count rows.
{%- set window = var('demand_window_days', 28) %}
{%- set lead = var('lead_time_days', 3) %}
with units as (
    select ORDER_DATE, STORE_ID, PRODUCT_ID, sum(QUANTITY) as UNITS_SOLD
    from {{ ref('sales_lines') }}
    where not IS_RETURN
    group by ORDER_DATE, STORE_ID, PRODUCT_ID
),

joined as (
    select
        i.STORE_ID, i.PRODUCT_ID, i.SNAPSHOT_DATE, i.ON_HAND, i.ON_ORDER, i.REORDER_POINT, i.IS_STOCK_OUT,
        coalesce(u.UNITS_SOLD, 0) as UNITS_SOLD
    from {{ ref('inventory_daily') }} as i
    left join units as u
        on u.STORE_ID = i.STORE_ID and u.PRODUCT_ID = i.PRODUCT_ID and u.ORDER_DATE = i.SNAPSHOT_DATE
),

windowed as (
    select
        joined.*,
        sum(case when IS_STOCK_OUT then 0 else UNITS_SOLD end) over (
            partition by STORE_ID, PRODUCT_ID order by SNAPSHOT_DATE
            rows between {{ window - 1 }} preceding and current row) as UNITS_IN_WINDOW,
        sum(case when IS_STOCK_OUT then 0 else 1 end) over (
            partition by STORE_ID, PRODUCT_ID order by SNAPSHOT_DATE
            rows between {{ window - 1 }} preceding and current row) as IN_STOCK_DAYS_IN_WINDOW,
        avg(ON_HAND) over (
            partition by STORE_ID, PRODUCT_ID order by SNAPSHOT_DATE
            rows between 6 preceding and current row) as AVG_ON_HAND_7D
    from joined
),

measured as (
    select
        windowed.*,
        {{ safe_divide('UNITS_IN_WINDOW', 'IN_STOCK_DAYS_IN_WINDOW') }} as AVG_DAILY_DEMAND
    from windowed
),

covered as (
    select
        measured.*,
        {{ safe_divide('ON_HAND', 'AVG_DAILY_DEMAND') }} as DAYS_OF_COVER,
        {{ safe_divide('AVG_ON_HAND_7D', 'AVG_DAILY_DEMAND') }} as AVG_DAYS_OF_COVER_7D
    from measured
)

select
    STORE_ID,
    PRODUCT_ID,
    SNAPSHOT_DATE,
    ON_HAND,
    ON_ORDER,
    REORDER_POINT,
    UNITS_SOLD,
    round(AVG_DAILY_DEMAND, 4) as AVG_DAILY_DEMAND,
    round(DAYS_OF_COVER, 2) as DAYS_OF_COVER,
    round(AVG_DAYS_OF_COVER_7D, 2) as AVG_DAYS_OF_COVER_7D,
    IS_STOCK_OUT,
    case
        when IS_STOCK_OUT then 'out_of_stock'
        -- not even what is on order covers the lead time
        when {{ safe_divide('ON_HAND + ON_ORDER', 'AVG_DAILY_DEMAND') }} < {{ lead }} then 'high'
        -- the shelf alone runs out within the lead time, or sits at the reorder point: it hangs on the order
        when DAYS_OF_COVER < {{ lead }} or ON_HAND <= REORDER_POINT then 'medium'
        else 'low'
    end as STOCK_OUT_RISK,
    -- excess: far more stock than demand needs (on the week's average, so the restock cycle does not matter),
    -- or stock that did not sell at all in the window; never at or below the reorder point, which calls for more
    coalesce(AVG_DAYS_OF_COVER_7D > {{ var('excess_cover_days', 60) }}, true)
        and ON_HAND > REORDER_POINT and not IS_STOCK_OUT as IS_EXCESS_STOCK,
    coalesce(AVG_DAILY_DEMAND, 0) = 0 and ON_HAND > 0 as IS_NOT_SELLING,
    -- reorder when on hand plus on order is at or below the reorder point, or cover runs out within the lead
    -- time: up to the reorder point (the safety stock) plus the lead time's and target_cover_days' demand
    case
        when ON_HAND + ON_ORDER <= REORDER_POINT
             or (DAYS_OF_COVER < {{ lead }} and ON_ORDER = 0)
        then cast(ceil(coalesce(AVG_DAILY_DEMAND, 0) * {{ lead + var('target_cover_days', 14) }}) as {{ dbt.type_int() }})
             + REORDER_POINT - ON_HAND - ON_ORDER
        else 0
    end as SUGGESTED_REORDER_QTY
from covered
