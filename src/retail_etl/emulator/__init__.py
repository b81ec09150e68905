"""An emulated Snowflake account: DDL, SHOW / DESC / INFORMATION_SCHEMA echoes and errors, as Snowflake gives them.

The catalog (``catalog``) holds plain records; statements are parsed (``lexer``, ``parser``) and applied by the
``ddl_*`` modules; ``show`` renders rows from the catalog. Data (table rows, loads, stream offsets) comes later.
"""

from retail_etl.emulator.account import Account
from retail_etl.emulator.errors import EmulatorError
from retail_etl.emulator.session import EmulatedSession

__all__ = ["Account", "EmulatedSession", "EmulatorError"]
