-- Sales per day, store and category, with the change against the same weekday a week earlier. Every
-- store x category x day between the first and the last sales day has a row (zeros included), so the
-- week-over-week change is always there once the data reaches back a week.
with days as (
    select distinct SALES_DATE from {{ ref('daily_sales') }}
),

grid as (
    select days.SALES_DATE, stores.STORE_ID, categories.CATEGORY
    from days
    cross join (select distinct STORE_ID from {{ ref('daily_sales') }}) as stores
    cross join (select distinct CATEGORY from {{ ref('products_clean') }}) as categories
),

sold as (
    select
        SALES_DATE, STORE_ID, CATEGORY,
        sum(ORDERS) as PRODUCT_ORDERS,
        sum(NET_UNITS) as NET_UNITS,
        sum(NET_SALES) as NET_SALES,
        sum(GROSS_MARGIN) as GROSS_MARGIN
    from {{ ref('daily_sales') }}
    group by SALES_DATE, STORE_ID, CATEGORY
),

filled as (
    select
        g.SALES_DATE, g.STORE_ID, g.CATEGORY,
        coalesce(s.NET_UNITS, 0) as NET_UNITS,
        cast(coalesce(s.NET_SALES, 0) as {{ money_type() }}) as NET_SALES,
        cast(coalesce(s.GROSS_MARGIN, 0) as {{ money_type() }}) as GROSS_MARGIN
    from grid as g
    left join sold as s
        on s.SALES_DATE = g.SALES_DATE and s.STORE_ID = g.STORE_ID and s.CATEGORY = g.CATEGORY
)

select
    f.SALES_DATE,
    f.STORE_ID,
    f.CATEGORY,
    f.NET_UNITS,
    f.NET_SALES,
    f.GROSS_MARGIN,
    w.NET_SALES as NET_SALES_PRIOR_WEEK,
    cast(f.NET_SALES - w.NET_SALES as {{ money_type() }}) as NET_SALES_WOW_CHANGE,
    {{ growth_over('f.NET_SALES', 'w.NET_SALES') }} as NET_SALES_WOW_PCT
from filled as f
left join filled as w
    on w.STORE_ID = f.STORE_ID
    and w.CATEGORY = f.CATEGORY
    and w.SALES_DATE = cast({{ dbt.dateadd('day', -7, 'f.SALES_DATE') }} as date)
