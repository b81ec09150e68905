-- Business rule: a customer is never recommended a product they already bought, nor more than
-- recommendations_per_customer products.
select r.CUSTOMER_ID, r.PRODUCT_ID, r.RECOMMENDATION_RANK
from {{ ref('next_best_product') }} as r
where r.RECOMMENDATION_RANK > {{ var('recommendations_per_customer', 3) }}
   or r.RECOMMENDATION_RANK < 1
   or exists (
       select 1 from {{ ref('sales_lines') }} as l
       where l.CUSTOMER_ID = r.CUSTOMER_ID and l.PRODUCT_ID = r.PRODUCT_ID and not l.IS_RETURN
   )
