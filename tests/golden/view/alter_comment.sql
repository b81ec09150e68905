ALTER VIEW RETAIL_DB.GOLD.ORDERS_VIEW SET COMMENT = 'Orders, v2 [managed by retail-etl]';
