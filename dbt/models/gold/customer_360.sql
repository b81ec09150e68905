-- One row per customer: profile, purchase history, RFM scores and segment, lifetime value. Every date is
-- counted back from AS_OF_DATE, the last order date in the data (never the clock), so a rebuild on the same
-- data gives the same answer.
{%- set lapsed_days = var('lapsed_after_days', 14) %}
{%- set new_days = var('new_customer_days', 14) %}
with as_of as (
    select max(ORDER_DATE) as AS_OF_DATE from {{ ref('sales_lines') }}
),

lines as (
    select l.CUSTOMER_ID, l.ORDER_ID, l.ORDER_DATE, l.STORE_ID, l.PRODUCT_ID, l.QUANTITY, l.NET_AMOUNT,
           l.IS_RETURN, p.COST
    from {{ ref('sales_lines') }} as l
    left join {{ ref('products_clean') }} as p on p.PRODUCT_ID = l.PRODUCT_ID
    where l.CUSTOMER_ID is not null
),

stats as (
    select
        CUSTOMER_ID,
        min(case when not IS_RETURN then ORDER_DATE end) as FIRST_ORDER_DATE,
        max(case when not IS_RETURN then ORDER_DATE end) as LAST_ORDER_DATE,
        count(distinct case when not IS_RETURN then ORDER_ID end) as ORDERS,
        count(distinct case when not IS_RETURN then ORDER_DATE end) as PURCHASE_DAYS,
        count(distinct case when IS_RETURN then ORDER_ID end) as RETURNS,
        sum(case when IS_RETURN then 0 else QUANTITY end) as UNITS_BOUGHT,
        sum(case when IS_RETURN then -QUANTITY else 0 end) as UNITS_RETURNED,
        count(distinct case when not IS_RETURN then PRODUCT_ID end) as DISTINCT_PRODUCTS,
        count(distinct STORE_ID) as STORES_VISITED,
        sum(NET_AMOUNT) as NET_SALES,
        sum(NET_AMOUNT - QUANTITY * COST) as GROSS_MARGIN
    from lines
    group by CUSTOMER_ID
),

gaps as (
    -- the customer's usual days between purchase days; one purchase day says nothing, so the median of all
    select
        s.*,
        case when s.PURCHASE_DAYS >= 2
             then {{ safe_divide(dbt.datediff('s.FIRST_ORDER_DATE', 's.LAST_ORDER_DATE', 'day'),
                                 's.PURCHASE_DAYS - 1') }} end as OWN_GAP_DAYS
    from stats as s
),

population as (
    select coalesce(median(OWN_GAP_DAYS), {{ var('lapsed_after_days', 14) }} / 2.0) as MEDIAN_GAP_DAYS from gaps
),

purchasers as (
    select
        g.*,
        a.AS_OF_DATE,
        {{ dbt.datediff('g.LAST_ORDER_DATE', 'a.AS_OF_DATE', 'day') }} as RECENCY_DAYS,
        {{ dbt.datediff('g.FIRST_ORDER_DATE', 'a.AS_OF_DATE', 'day') }} + 1 as TENURE_DAYS,
        case when coalesce(g.OWN_GAP_DAYS, p.MEDIAN_GAP_DAYS) < 1 then 1
             else coalesce(g.OWN_GAP_DAYS, p.MEDIAN_GAP_DAYS) end as EXPECTED_GAP_DAYS
    from gaps as g
    cross join as_of as a
    cross join population as p
    where g.ORDERS > 0
),

scored as (
    -- quintile scores 1..5: a customer scores j when at most j fifths of the customers rank at or below them
    -- (ties share a score). Counted and compared in integers, so both engines give the same scores.
    select
        purchasers.*,
        {{ quintile_score('RECENCY_DAYS desc') }} as R_SCORE,
        {{ quintile_score('ORDERS') }} as F_SCORE,
        {{ quintile_score('NET_SALES') }} as M_SCORE
    from purchasers
),

classified as (
    select
        scored.*,
        case
            when RECENCY_DAYS >= {{ lapsed_days }} then 'lapsed'
            when RECENCY_DAYS >= {{ var('at_risk_min_days', 7) }}
                 and RECENCY_DAYS >= {{ var('at_risk_gap_multiple', 2) }} * EXPECTED_GAP_DAYS then 'at_risk'
            else 'active'
        end as CHURN_STATUS
    from scored
)

select
    c.CUSTOMER_ID,
    c.FIRST_NAME,
    c.LAST_NAME,
    c.COMPANYNAME,
    c.CITY,
    c.STATE,
    c.COUNTRY,
    a.AS_OF_DATE,
    t.FIRST_ORDER_DATE,
    t.LAST_ORDER_DATE,
    k.RECENCY_DAYS,
    k.TENURE_DAYS,
    coalesce(t.ORDERS, 0) as ORDERS,
    coalesce(t.PURCHASE_DAYS, 0) as PURCHASE_DAYS,
    coalesce(t.RETURNS, 0) as RETURNS,
    coalesce(t.UNITS_BOUGHT, 0) as UNITS_BOUGHT,
    coalesce(t.UNITS_RETURNED, 0) as UNITS_RETURNED,
    coalesce(t.DISTINCT_PRODUCTS, 0) as DISTINCT_PRODUCTS,
    coalesce(t.STORES_VISITED, 0) as STORES_VISITED,
    round(k.EXPECTED_GAP_DAYS, 2) as EXPECTED_GAP_DAYS,
    {{ money_divide('t.NET_SALES', 't.ORDERS') }} as AVG_ORDER_VALUE,
    -- lifetime value: what the customer has been worth so far, net of discounts and returns (a customer with
    -- returns only, of things bought before the data begins, is worth less than nothing here)
    cast(coalesce(t.NET_SALES, 0) as {{ money_type() }}) as LIFETIME_VALUE,
    cast(coalesce(t.GROSS_MARGIN, 0) as {{ money_type() }}) as LIFETIME_MARGIN,
    k.R_SCORE,
    k.F_SCORE,
    k.M_SCORE,
    case when k.R_SCORE is not null then {{ dbt.concat([
        dbt.cast('k.R_SCORE', dbt.type_string()),
        dbt.cast('k.F_SCORE', dbt.type_string()),
        dbt.cast('k.M_SCORE', dbt.type_string())]) }} end as RFM_SCORE,
    coalesce(k.CHURN_STATUS, 'never_purchased') as CHURN_STATUS,
    case
        when k.CUSTOMER_ID is null then 'No Purchases'
        when k.CHURN_STATUS = 'lapsed' then 'Lapsed'
        when k.FIRST_ORDER_DATE > cast({{ dbt.dateadd('day', -new_days, 'a.AS_OF_DATE') }} as date) then 'New'
        when k.R_SCORE >= 4 and k.F_SCORE >= 4 and k.M_SCORE >= 4 then 'Champions'
        when k.F_SCORE >= 4 then 'Loyal'
        when k.CHURN_STATUS = 'at_risk' then 'At Risk'
        when k.R_SCORE >= 4 then 'Promising'
        else 'Needs Attention'
    end as SEGMENT
from {{ ref('customers_clean') }} as c
cross join as_of as a
-- every line of the customer counts in the totals; only purchasers are scored and classified
left join stats as t on t.CUSTOMER_ID = c.CUSTOMER_ID
left join classified as k on k.CUSTOMER_ID = c.CUSTOMER_ID
