ALTER TABLE RETAIL_DB.BRONZE.WORK_ORDERS_COPY SET COMMENT = 'Orders landing, v2 [managed by retail-etl]';
