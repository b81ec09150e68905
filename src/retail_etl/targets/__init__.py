"""Targets: where plans are observed and applied (a Snowflake account, or the embedded local emulation)."""
