-- Customers who bought and may not come back: how long they have been silent against their own rhythm, and
-- what they were worth. CHURN_SCORE is the chance that an active customer with this rhythm would have bought
-- again by now (1 - exp(-recency / usual gap)): near 1, the silence is unusual. Ordered for a win-back campaign
-- by WIN_BACK_PRIORITY (lapsed and at-risk first, most valuable first).
select
    CUSTOMER_ID,
    FIRST_NAME,
    LAST_NAME,
    AS_OF_DATE,
    LAST_ORDER_DATE,
    RECENCY_DAYS,
    EXPECTED_GAP_DAYS,
    round(RECENCY_DAYS / EXPECTED_GAP_DAYS, 2) as OVERDUE_RATIO,
    round(1 - exp(-RECENCY_DAYS / EXPECTED_GAP_DAYS), 4) as CHURN_SCORE,
    CHURN_STATUS,
    case CHURN_STATUS when 'lapsed' then 'high' when 'at_risk' then 'medium' else 'low' end as CHURN_RISK,
    SEGMENT,
    ORDERS,
    LIFETIME_VALUE,
    AVG_ORDER_VALUE,
    row_number() over (
        order by case CHURN_STATUS when 'lapsed' then 1 when 'at_risk' then 2 else 3 end,
                 LIFETIME_VALUE desc, CUSTOMER_ID
    ) as WIN_BACK_PRIORITY
from {{ ref('customer_360') }}
where ORDERS > 0
