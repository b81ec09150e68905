-- Sales per day, store and product (with its category), returns netted, and the change against the same
-- weekday a week earlier. Only store/product/days with a sale or a return have a row; the prior-week figures
-- are 0 when that pair sold nothing a week earlier, NULL when the data does not reach back a week.
with daily as (
    select
        l.ORDER_DATE as SALES_DATE,
        l.STORE_ID,
        l.PRODUCT_ID,
        count(distinct case when not l.IS_RETURN then l.ORDER_ID end) as ORDERS,
        sum(case when l.IS_RETURN then 0 else l.QUANTITY end) as UNITS_SOLD,
        sum(case when l.IS_RETURN then -l.QUANTITY else 0 end) as UNITS_RETURNED,
        sum(l.QUANTITY) as NET_UNITS,
        sum(l.GROSS_AMOUNT) as GROSS_SALES,
        sum(l.DISCOUNT) as DISCOUNTS,
        sum(case when l.IS_RETURN then -l.NET_AMOUNT else 0 end) as RETURNS_AMOUNT,
        sum(l.NET_AMOUNT) as NET_SALES,
        sum(l.QUANTITY * p.COST) as COST_OF_GOODS
    from {{ ref('sales_lines') }} as l
    left join {{ ref('products_clean') }} as p on p.PRODUCT_ID = l.PRODUCT_ID
    group by l.ORDER_DATE, l.STORE_ID, l.PRODUCT_ID
),

bounds as (
    select min(SALES_DATE) as FIRST_SALES_DATE from daily
)

select
    d.SALES_DATE,
    d.STORE_ID,
    s.STORE_NAME,
    d.PRODUCT_ID,
    p.PRODUCT_NAME,
    p.CATEGORY,
    d.ORDERS,
    d.UNITS_SOLD,
    d.UNITS_RETURNED,
    d.NET_UNITS,
    cast(d.GROSS_SALES as {{ money_type() }}) as GROSS_SALES,
    cast(d.DISCOUNTS as {{ money_type() }}) as DISCOUNTS,
    cast(d.RETURNS_AMOUNT as {{ money_type() }}) as RETURNS_AMOUNT,
    cast(d.NET_SALES as {{ money_type() }}) as NET_SALES,
    cast(d.NET_SALES - d.COST_OF_GOODS as {{ money_type() }}) as GROSS_MARGIN,
    case when cast({{ dbt.dateadd('day', -7, 'd.SALES_DATE') }} as date) >= b.FIRST_SALES_DATE
         then cast(coalesce(w.NET_SALES, 0) as {{ money_type() }}) end as NET_SALES_PRIOR_WEEK,
    case when cast({{ dbt.dateadd('day', -7, 'd.SALES_DATE') }} as date) >= b.FIRST_SALES_DATE
         then cast(d.NET_SALES - coalesce(w.NET_SALES, 0) as {{ money_type() }}) end as NET_SALES_WOW_CHANGE,
    case when cast({{ dbt.dateadd('day', -7, 'd.SALES_DATE') }} as date) >= b.FIRST_SALES_DATE
         then {{ growth_over('d.NET_SALES', 'w.NET_SALES') }} end as NET_SALES_WOW_PCT,
    case when cast({{ dbt.dateadd('day', -7, 'd.SALES_DATE') }} as date) >= b.FIRST_SALES_DATE
         then coalesce(w.NET_UNITS, 0) end as NET_UNITS_PRIOR_WEEK
from daily as d
cross join bounds as b
left join daily as w
    on w.STORE_ID = d.STORE_ID
    and w.PRODUCT_ID = d.PRODUCT_ID
    and w.SALES_DATE = cast({{ dbt.dateadd('day', -7, 'd.SALES_DATE') }} as date)
left join {{ ref('stores_clean') }} as s on s.STORE_ID = d.STORE_ID
left join {{ ref('products_clean') }} as p on p.PRODUCT_ID = d.PRODUCT_ID
