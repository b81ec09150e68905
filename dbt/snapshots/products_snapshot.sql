{#- SCD type 2 history of the product catalogue (the original's product_snapshot): check strategy on the
    descriptive columns, keyed on PRODUCT_ID. -#}
{% snapshot products_snapshot %}
{{
    config(
        unique_key='PRODUCT_ID',
        strategy='check',
        check_cols=['PRODUCT_NAME', 'CATEGORY', 'PRICE', 'COST'],
    )
}}
select PRODUCT_ID, PRODUCT_NAME, CATEGORY, PRICE, COST, UNIT_MARGIN, UPDATE_DTS
from {{ ref('products_clean') }}
{% endsnapshot %}
