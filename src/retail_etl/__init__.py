"""retail-etl: pipeline-as-code for a retail lakehouse on Snowflake and S3."""
