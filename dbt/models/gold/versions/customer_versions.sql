-- Every version of every customer, like the original GOLD product view: VRSN_STRT_DTS / VRSN_END_DTS, the
-- current version open-ended (9999-12-31).
select
    CUSTOMER_ID,
    DBT_SCD_ID as VERSION_ID,
    DBT_VALID_FROM as VRSN_STRT_DTS,
    coalesce(DBT_VALID_TO, cast('9999-12-31 00:00:00' as {{ dbt.type_timestamp() }})) as VRSN_END_DTS,
    DBT_VALID_TO is null as IS_CURRENT,
    FIRST_NAME,
    LAST_NAME,
    COMPANYNAME,
    PHONE,
    ADDRESSLINE1,
    ADDRESSLINE2,
    CITY,
    STATE,
    POSTALCODE,
    COUNTRY,
    PROVINCE,
    LAST_LOADED_DTS,
    SOURCE_FILE_NAME
from {{ ref('customers_snapshot') }}
