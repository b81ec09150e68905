-- One row per store, typed and trimmed.
with ranked as (
    select
        cast(STORE_ID as {{ dbt.type_int() }}) as STORE_ID,
        {{ clean_text('STORE_NAME') }} as STORE_NAME,
        {{ proper_case(clean_text('CITY')) }} as CITY,
        upper({{ clean_text('STATE') }}) as STATE,
        UPDATE_DTS,
        row_number() over (partition by STORE_ID order by UPDATE_DTS desc, INSERT_DTS desc) as RECENCY_RANK
    from {{ source('silver', 'STORE') }}
    where STORE_ID is not null
)

select STORE_ID, STORE_NAME, CITY, STATE, UPDATE_DTS
from ranked
where RECENCY_RANK = 1
