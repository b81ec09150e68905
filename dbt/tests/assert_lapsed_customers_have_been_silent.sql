-- Business rule: a lapsed customer bought nothing in the last lapsed_after_days days before the as-of date; an
-- active or at-risk one did; customers with no purchase are never scored.
select CUSTOMER_ID, SEGMENT, CHURN_STATUS, RECENCY_DAYS
from {{ ref('customer_360') }}
where (SEGMENT = 'Lapsed') <> (CHURN_STATUS = 'lapsed')
   or (CHURN_STATUS = 'lapsed' and RECENCY_DAYS < {{ var('lapsed_after_days', 14) }})
   or (CHURN_STATUS in ('active', 'at_risk') and RECENCY_DAYS >= {{ var('lapsed_after_days', 14) }})
   or (ORDERS = 0 and (SEGMENT <> 'No Purchases' or R_SCORE is not null))
   or LAST_ORDER_DATE > AS_OF_DATE
