{#- SCD type 2 history of customers, the original's snapshot pattern: check strategy on the attributes, one
    version per change, valid from the snapshot run that saw it (DBT_VALID_FROM / DBT_VALID_TO). -#}
{% snapshot customers_snapshot %}
{{
    config(
        unique_key='CUSTOMER_ID',
        strategy='check',
        check_cols=['COMPANYNAME', 'PHONE', 'ADDRESSLINE1', 'ADDRESSLINE2', 'CITY', 'STATE', 'POSTALCODE',
                    'COUNTRY', 'PROVINCE'],
    )
}}
select
    CUSTOMER_ID, FIRST_NAME, LAST_NAME, COMPANYNAME, PHONE, ADDRESSLINE1, ADDRESSLINE2, CITY, STATE, POSTALCODE,
    COUNTRY, PROVINCE, LAST_LOADED_DTS, SOURCE_FILE_NAME
from {{ ref('customers_clean') }}
{% endsnapshot %}
