"""The Snowflake target: connections configured exactly like the Snowflake CLI (``snow``), and a Session over them."""
