"""`retail-etl check`: is every pipeline healthy after apply (issue #4 section 3)."""
