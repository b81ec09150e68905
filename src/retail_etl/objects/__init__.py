"""Object kinds: one handler per kind, in the order a fresh account is built."""

from __future__ import annotations

from retail_etl.objects.base import Kind
from retail_etl.objects.container import DatabaseHandler, SchemaHandler
from retail_etl.objects.handler import KindHandler
from retail_etl.objects.ingest import PipeHandler, ProcedureHandler, StreamHandler, TaskHandler, ViewHandler
from retail_etl.objects.integration import NotificationIntegrationHandler, StorageIntegrationHandler
from retail_etl.objects.storage import FileFormatHandler, StageHandler
from retail_etl.objects.table import TableHandler

HANDLERS: dict[Kind, KindHandler] = {
    handler.kind: handler
    for handler in (
        DatabaseHandler(),
        SchemaHandler(),
        StorageIntegrationHandler(),
        NotificationIntegrationHandler(),
        FileFormatHandler(),
        StageHandler(),
        TableHandler(),
        PipeHandler(),
        StreamHandler(),
        ProcedureHandler(),
        TaskHandler(),
        ViewHandler(),
    )
}


def handler_for(kind: Kind) -> KindHandler:
    return HANDLERS[kind]
