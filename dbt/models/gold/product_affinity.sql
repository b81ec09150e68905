-- Products bought together: for each product, the products found in the same orders more often than chance.
-- Baskets are pre-aggregated to distinct (order, product); orders with more than affinity_max_basket products
-- are left out of the pair count (they would add k^2 pairs and little signal), and a pair must appear in
-- affinity_min_orders orders. Both directions are listed: CONFIDENCE is P(related | product).
--   SUPPORT    = orders with both / all orders
--   CONFIDENCE = orders with both / orders with PRODUCT_ID
--   LIFT       = CONFIDENCE / (orders with RELATED_PRODUCT_ID / all orders): 1 = chance
with baskets as (
    select distinct ORDER_ID, PRODUCT_ID
    from {{ ref('sales_lines') }}
    where not IS_RETURN
),

basket_sizes as (
    select ORDER_ID, count(*) as PRODUCTS
    from baskets
    group by ORDER_ID
),

totals as (
    select count(*) as ALL_ORDERS from basket_sizes
),

product_orders as (
    select PRODUCT_ID, count(*) as ORDERS
    from baskets
    group by PRODUCT_ID
),

pair_baskets as (
    select b.ORDER_ID, b.PRODUCT_ID
    from baskets as b
    inner join basket_sizes as s on s.ORDER_ID = b.ORDER_ID
    where s.PRODUCTS between 2 and {{ var('affinity_max_basket', 25) }}
),

pairs as (
    select a.PRODUCT_ID as PRODUCT_A, b.PRODUCT_ID as PRODUCT_B, count(*) as PAIR_ORDERS
    from pair_baskets as a
    inner join pair_baskets as b on b.ORDER_ID = a.ORDER_ID and b.PRODUCT_ID > a.PRODUCT_ID
    group by a.PRODUCT_ID, b.PRODUCT_ID
    having count(*) >= {{ var('affinity_min_orders', 5) }}
),

directed as (
    select PRODUCT_A as PRODUCT_ID, PRODUCT_B as RELATED_PRODUCT_ID, PAIR_ORDERS from pairs
    union all
    select PRODUCT_B as PRODUCT_ID, PRODUCT_A as RELATED_PRODUCT_ID, PAIR_ORDERS from pairs
),

measured as (
    select
        d.PRODUCT_ID,
        d.RELATED_PRODUCT_ID,
        d.PAIR_ORDERS,
        po.ORDERS as PRODUCT_ORDERS,
        ro.ORDERS as RELATED_PRODUCT_ORDERS,
        round({{ safe_divide('d.PAIR_ORDERS', 't.ALL_ORDERS') }}, 6) as SUPPORT,
        round({{ safe_divide('d.PAIR_ORDERS', 'po.ORDERS') }}, 4) as CONFIDENCE,
        round({{ safe_divide('d.PAIR_ORDERS * t.ALL_ORDERS', 'po.ORDERS * ro.ORDERS') }}, 4) as LIFT
    from directed as d
    cross join totals as t
    inner join product_orders as po on po.PRODUCT_ID = d.PRODUCT_ID
    inner join product_orders as ro on ro.PRODUCT_ID = d.RELATED_PRODUCT_ID
),

ranked as (
    select
        measured.*,
        row_number() over (
            partition by PRODUCT_ID order by LIFT desc, PAIR_ORDERS desc, RELATED_PRODUCT_ID
        ) as AFFINITY_RANK
    from measured
    where LIFT >= {{ var('affinity_min_lift', 1.5) }}
)

select
    r.PRODUCT_ID,
    p.PRODUCT_NAME,
    p.CATEGORY,
    r.RELATED_PRODUCT_ID,
    rp.PRODUCT_NAME as RELATED_PRODUCT_NAME,
    rp.CATEGORY as RELATED_CATEGORY,
    r.PAIR_ORDERS,
    r.PRODUCT_ORDERS,
    r.RELATED_PRODUCT_ORDERS,
    r.SUPPORT,
    r.CONFIDENCE,
    r.LIFT,
    r.AFFINITY_RANK
from ranked as r
left join {{ ref('products_clean') }} as p on p.PRODUCT_ID = r.PRODUCT_ID
left join {{ ref('products_clean') }} as rp on rp.PRODUCT_ID = r.RELATED_PRODUCT_ID
where r.AFFINITY_RANK <= {{ var('affinity_top_k', 10) }}
