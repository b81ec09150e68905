-- One row per customer: every loaded customer row (BRONZE keeps them all, with file and row), names trimmed and
-- proper-cased, rows without a first or last name dropped, the latest load winning (load time, then file name,
-- then row in the file: the pipelines' own order). SILVER.CUSTOMER cannot serve here: it is keyed on the raw
-- names, so '  Ada ' and 'Ada' are two rows there, and it no longer knows which of them came last.
with cleaned as (
    select
        {{ proper_case(clean_text('FIRST_NAME')) }} as FIRST_NAME,
        {{ proper_case(clean_text('LAST_NAME')) }} as LAST_NAME,
        {{ clean_text('COMPANYNAME') }} as COMPANYNAME,
        {{ clean_text('PHONE') }} as PHONE,
        {{ clean_text('ADDRESSLINE1') }} as ADDRESSLINE1,
        {{ clean_text('ADDRESSLINE2') }} as ADDRESSLINE2,
        {{ proper_case(clean_text('CITY')) }} as CITY,
        upper({{ clean_text('STATE') }}) as STATE,
        {{ clean_text('POSTALCODE') }} as POSTALCODE,
        {{ clean_text('COUNTRY') }} as COUNTRY,
        upper({{ clean_text('PROVINCE') }}) as PROVINCE,
        INSERT_DTS,
        SOURCE_FILE_NAME,
        SOURCE_FILE_ROW_NUMBER
    from {{ source('bronze', 'WORK_CUSTOMER_COPY') }}
    where {{ clean_text('FIRST_NAME') }} is not null
      and {{ clean_text('LAST_NAME') }} is not null
),

ranked as (
    select
        cleaned.*,
        row_number() over (
            partition by FIRST_NAME, LAST_NAME
            order by INSERT_DTS desc, SOURCE_FILE_NAME desc, SOURCE_FILE_ROW_NUMBER desc
        ) as RECENCY_RANK,
        min(INSERT_DTS) over (partition by FIRST_NAME, LAST_NAME) as FIRST_LOADED_DTS
    from cleaned
)

select
    {{ customer_key('FIRST_NAME', 'LAST_NAME') }} as CUSTOMER_ID,
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
    FIRST_LOADED_DTS,
    INSERT_DTS as LAST_LOADED_DTS,
    SOURCE_FILE_NAME
from ranked
where RECENCY_RANK = 1
