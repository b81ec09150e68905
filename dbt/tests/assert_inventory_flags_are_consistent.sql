-- Business rules: out of stock means nothing on hand; a suggested reorder is never negative and lifts on hand
-- plus on order above the reorder point; an excess or not-selling item is never out of stock.
select STORE_ID, PRODUCT_ID, SNAPSHOT_DATE
from {{ ref('inventory_health_daily') }}
where (STOCK_OUT_RISK = 'out_of_stock') <> (ON_HAND <= 0)
   or SUGGESTED_REORDER_QTY < 0
   or (SUGGESTED_REORDER_QTY > 0 and ON_HAND + ON_ORDER + SUGGESTED_REORDER_QTY < REORDER_POINT)
   or (IS_EXCESS_STOCK and IS_STOCK_OUT)
