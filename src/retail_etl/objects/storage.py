"""File formats and external stages: where the landing files are and how they are parsed."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from retail_etl.identifiers import QualifiedName
from retail_etl.objects.base import DesiredObject, Kind, ObjectRef, ObservedObject, is_managed
from retail_etl.objects.handler import KindHandler, Row, Snapshot, flag, name_in, unset


class FileFormatObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.FILE_FORMAT
    format_type: str = "CSV"
    field_delimiter: str = ","
    record_delimiter: str = "\n"
    field_optionally_enclosed_by: str | None = None
    skip_header: int = 0
    null_if: tuple[str, ...] = ("\\N",)
    empty_field_as_null: bool = True
    trim_space: bool = False
    compression: str = "AUTO"
    encoding: str = "UTF8"
    error_on_column_count_mismatch: bool = True

    def state(self) -> dict[str, Any]:
        return {
            "type": self.format_type,
            "field_delimiter": self.field_delimiter,
            "record_delimiter": self.record_delimiter,
            "field_optionally_enclosed_by": self.field_optionally_enclosed_by or "NONE",
            "skip_header": self.skip_header,
            "null_if": list(self.null_if),
            "empty_field_as_null": self.empty_field_as_null,
            "trim_space": self.trim_space,
            "compression": self.compression,
            "encoding": self.encoding,
            "error_on_column_count_mismatch": self.error_on_column_count_mismatch,
            "comment": self.full_comment,
        }


class FileFormatHandler(KindHandler):
    kind = Kind.FILE_FORMAT
    template = "file_format.sql.j2"
    show_keyword = "FILE FORMATS"
    replace_on = {"type": "a file format's TYPE cannot be altered"}
    drop_consequence = "stages and pipes that name the format can no longer parse files"

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        # format_options is a JSON object with every option, defaults included (reference §3.3).
        options: dict[str, Any] = json.loads(row.get("format_options") or "{}")
        comment = unset(row.get("comment"))
        state = {
            "type": str(options.get("TYPE", row.get("type", "CSV"))).upper(),
            "field_delimiter": options.get("FIELD_DELIMITER", ","),
            "record_delimiter": options.get("RECORD_DELIMITER", "\n"),
            "field_optionally_enclosed_by": options.get("FIELD_OPTIONALLY_ENCLOSED_BY") or "NONE",
            "skip_header": int(options.get("SKIP_HEADER", 0)),
            "null_if": list(options.get("NULL_IF", ["\\N"])),
            "empty_field_as_null": flag(options.get("EMPTY_FIELD_AS_NULL", True)),
            "trim_space": flag(options.get("TRIM_SPACE", False)),
            "compression": str(options.get("COMPRESSION", "AUTO")).upper(),
            "encoding": str(options.get("ENCODING", "UTF8")).upper(),
            "error_on_column_count_mismatch": flag(options.get("ERROR_ON_COLUMN_COUNT_MISMATCH", True)),
            "comment": comment,
        }
        return ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment))


class StageObject(DesiredObject):
    """External stage: a location and the integration that reaches it.

    It deliberately carries no FILE_FORMAT: the pipe names its format in the COPY, and without one every stage
    property is read back from a single SHOW STAGES (DESC STAGE would cost one query per stage).
    """

    kind: ClassVar[Kind] = Kind.STAGE
    url: str
    storage_integration: QualifiedName

    def dependencies(self) -> list[ObjectRef]:
        return [*super().dependencies(), ObjectRef(Kind.STORAGE_INTEGRATION, self.storage_integration)]

    def state(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "storage_integration": self.storage_integration.display,
            "comment": self.full_comment,
        }


class StageHandler(KindHandler):
    kind = Kind.STAGE
    template = "stage.sql.j2"
    show_keyword = "STAGES"
    # Never CREATE OR REPLACE a stage: its pipes stop with STOPPED_STAGE_DROPPED (reference §4.1). Changes are
    # ALTERs; a new location or integration re-creates the auto-ingest pipes on it (§17).
    cascades_on = frozenset({"url", "storage_integration"})
    drop_consequence = "pipes reading the stage stop loading (STOPPED_STAGE_DROPPED)"

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        comment = unset(row.get("comment"))
        integration = unset(row.get("storage_integration"))
        state = {
            "url": unset(row.get("url")),
            "storage_integration": str(integration) if integration else None,
            "comment": comment,
        }
        return ObservedObject(ObjectRef(self.kind, name_in(row)), state, is_managed(comment))
