"""Account-level integrations: S3 storage (for stages) and outbound SNS notifications (for errors).

Never CREATE OR REPLACE an integration (reference §1.1): it breaks the stages that hold its hidden id and, without an
explicit external id, the IAM trust. Everything but the provider/direction is changed with ALTER ... SET.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from retail_etl.identifiers import Identifier, QualifiedName
from retail_etl.objects.base import DesiredObject, Kind, ObjectRef, ObservedObject, Wanted, is_managed
from retail_etl.objects.handler import KindHandler, Row, Snapshot, flag, unset

_BREAKS_TRUST = (
    "re-creating an integration breaks every stage or pipe that uses it and gives it a new IAM user, so the"
    " role trust policy must be updated (retail-etl aws trust-policy --apply)"
)


class StorageIntegrationObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.STORAGE_INTEGRATION
    provider: str = "S3"
    role_arn: str
    allowed_locations: tuple[str, ...]
    blocked_locations: tuple[str, ...] = ()
    external_id: str
    enabled: bool = True

    def dependencies(self) -> list[ObjectRef]:
        return []

    def state(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "role_arn": self.role_arn,
            "allowed_locations": list(self.allowed_locations),
            "blocked_locations": list(self.blocked_locations),
            "external_id": self.external_id,
            "enabled": self.enabled,
            "comment": self.full_comment,
        }


class NotificationIntegrationObject(DesiredObject):
    kind: ClassVar[Kind] = Kind.NOTIFICATION_INTEGRATION
    provider: str = "AWS_SNS"
    direction: str = "OUTBOUND"
    topic_arn: str
    role_arn: str
    enabled: bool = True

    def dependencies(self) -> list[ObjectRef]:
        return []

    def state(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "direction": self.direction,
            "topic_arn": self.topic_arn,
            "role_arn": self.role_arn,
            "enabled": self.enabled,
            "comment": self.full_comment,
        }


def _desc_key(name: str) -> str:
    return f"desc_integration@{name}"


def _properties(snapshot: Snapshot, name: str) -> dict[str, Any]:
    return {str(row["property"]): row.get("property_value") for row in snapshot.get(_desc_key(name), [])}


def _split_list(value: Any) -> list[str]:
    """DESC INTEGRATION lists are one comma-joined string with no spaces; the default shows as ``[]``."""
    text = unset(value)
    if text is None or text == "[]":
        return []
    return [part for part in str(text).split(",") if part]


class _IntegrationHandler(KindHandler):
    show_keyword = "INTEGRATIONS"
    replace_is_unsafe = True
    replace_consequence = _BREAKS_TRUST
    drop_consequence = "stages, pipes and tasks that use the integration stop working"
    category: ClassVar[str]

    def queries(self, databases: Iterable[Identifier]) -> dict[str, str]:
        return {"integrations": "SHOW INTEGRATIONS"}

    def rows(self, snapshot: Snapshot) -> list[Row]:
        return [row for row in snapshot.get("integrations", []) if str(row.get("category")) == self.category]

    def detail_queries(self, snapshot: Snapshot, wanted: Wanted) -> dict[str, str]:
        # DESC only the integrations that exist and that the specs name or that retail-etl manages.
        queries = {}
        wanted_names = {ref.name.name.stored for ref in wanted if ref.kind is self.kind}
        for row in self.rows(snapshot):
            if row["name"] in wanted_names or is_managed(unset(row.get("comment"))):
                ident = Identifier(str(row["name"]))
                queries[_desc_key(ident.stored)] = f"DESC INTEGRATION {ident.sql}"
        return queries

    def ref_of(self, row: Row) -> ObjectRef:
        return ObjectRef(self.kind, QualifiedName(name=Identifier(str(row["name"]))))


class StorageIntegrationHandler(_IntegrationHandler):
    kind = Kind.STORAGE_INTEGRATION
    template = "storage_integration.sql.j2"
    category = "STORAGE"
    replace_on = {"provider": "the storage provider cannot be altered"}

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        props = _properties(snapshot, str(row["name"]))
        comment = unset(row.get("comment"))
        state = {
            "provider": unset(props.get("STORAGE_PROVIDER")) or "S3",
            "role_arn": unset(props.get("STORAGE_AWS_ROLE_ARN")),
            "allowed_locations": _split_list(props.get("STORAGE_ALLOWED_LOCATIONS")),
            "blocked_locations": _split_list(props.get("STORAGE_BLOCKED_LOCATIONS")),
            "external_id": unset(props.get("STORAGE_AWS_EXTERNAL_ID")),
            "enabled": flag(row.get("enabled")),
            "comment": comment,
        }
        details = {"iam_user_arn": unset(props.get("STORAGE_AWS_IAM_USER_ARN"))}
        return ObservedObject(self.ref_of(row), state, is_managed(comment), details)


class NotificationIntegrationHandler(_IntegrationHandler):
    kind = Kind.NOTIFICATION_INTEGRATION
    template = "notification_integration.sql.j2"
    category = "NOTIFICATION"
    replace_on = {
        "provider": "the notification provider cannot be altered",
        "direction": "the direction cannot be altered",
    }

    def read_row(self, row: Row, snapshot: Snapshot) -> ObservedObject:
        props = _properties(snapshot, str(row["name"]))
        comment = unset(row.get("comment"))
        state = {
            "provider": unset(props.get("NOTIFICATION_PROVIDER")) or str(row.get("type", "")).split(" - ")[-1],
            "direction": unset(props.get("DIRECTION")) or "OUTBOUND",
            "topic_arn": unset(props.get("AWS_SNS_TOPIC_ARN")),
            "role_arn": unset(props.get("AWS_SNS_ROLE_ARN")),
            "enabled": flag(row.get("enabled")),
            "comment": comment,
        }
        details = {
            "iam_user_arn": unset(props.get("SF_AWS_IAM_USER_ARN")),
            "external_id": unset(props.get("SF_AWS_EXTERNAL_ID")),
        }
        return ObservedObject(self.ref_of(row), state, is_managed(comment), details)
