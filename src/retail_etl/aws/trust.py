"""The IAM side of the two integrations (reference §1.5, §2.5): the roles Snowflake assumes must trust its IAM
user with the external id DESC INTEGRATION shows, and may do only what the pipelines need.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from retail_etl.aws.changes import Action, AwsChange, AwsWiringError
from retail_etl.identifiers import Identifier

if TYPE_CHECKING:
    from retail_etl.targets.session import Session
    from retail_etl.workflow import Project

STORAGE_POLICY_NAME = "retail-etl-s3-read"
NOTIFICATION_POLICY_NAME = "retail-etl-sns-publish"
_VERSION = "2012-10-17"

Policy = dict[str, Any]


@dataclass(frozen=True)
class RolePolicies:
    """What one integration's role needs: who may assume it, and the inline policy of what it may do."""

    integration: str
    role_arn: str
    trust_policy: Policy
    policy_name: str
    permission_policy: Policy

    @property
    def role_name(self) -> str:
        return role_name(self.role_arn)

    def to_json(self) -> dict[str, Any]:
        return {
            "integration": self.integration,
            "role_arn": self.role_arn,
            "role_name": self.role_name,
            "trust_policy": self.trust_policy,
            "permission_policy_name": self.policy_name,
            "permission_policy": self.permission_policy,
        }


def role_name(role_arn: str) -> str:
    """``arn:aws:iam::<account>:role/<path>/<name>`` -> ``<name>`` (IAM addresses roles by name, not path)."""
    return role_arn.rsplit("/", 1)[-1]


def statement_id(integration: str) -> str:
    """The Sid of the integration's trust statement: how retail-etl finds its own statement in a role's trust
    policy among others (a role may trust other principals, or both integrations)."""
    return "RetailEtl" + "".join(character for character in integration if character.isalnum())


def trust_policy(integration: str, iam_user_arn: str, external_id: str) -> Policy:
    return {
        "Version": _VERSION,
        "Statement": [
            {
                "Sid": statement_id(integration),
                "Effect": "Allow",
                "Principal": {"AWS": iam_user_arn},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


# The external id Snowflake's setup guide puts in a new role's trust policy until the integration exists.
_PLACEHOLDER_EXTERNAL_ID = "0000"


def merged_trust_policy(current: Policy, ours: Sequence[Policy]) -> Policy:
    """``current`` with retail-etl's statements (``ours``, one per integration using the role) put in: each
    replaces the statement with its Sid, an unlabelled statement trusting the same principal (written before
    statements had Sids) and the setup guide's placeholder; every other statement is kept."""
    statements = [statement for policy in ours for statement in policy["Statement"]]
    sids = {statement["Sid"] for statement in statements}
    principals = {json.dumps(statement["Principal"], sort_keys=True) for statement in statements}

    def replaced(statement: dict[str, Any]) -> bool:
        if "Sid" in statement:
            return statement["Sid"] in sids
        condition = statement.get("Condition", {}).get("StringEquals", {})
        return (
            json.dumps(statement.get("Principal"), sort_keys=True) in principals
            or condition.get("sts:ExternalId") == _PLACEHOLDER_EXTERNAL_ID
        )

    kept = [statement for statement in current.get("Statement", []) if not replaced(statement)]
    return {"Version": current.get("Version", _VERSION), "Statement": [*kept, *statements]}


def storage_read_policy(locations: Iterable[tuple[str, str]]) -> Policy:
    """Read access to the stage locations ``(bucket, prefix)`` and nothing else of their buckets."""
    by_bucket: dict[str, set[str]] = {}
    for bucket, prefix in locations:
        by_bucket.setdefault(bucket, set()).add(prefix)
    if not by_bucket:
        raise AwsWiringError("no pipeline, so no stage location to grant: add a pipeline first")
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"arn:aws:s3:::{b}/{p}*" for b in sorted(by_bucket) for p in sorted(by_bucket[b])],
        }
    ]
    statements.extend(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [f"{p}*" for p in sorted(prefixes)]}},
        }
        for bucket, prefixes in sorted(by_bucket.items())
    )
    # Its own statement: GetBucketLocation requests carry no s3:prefix key, and a StringLike condition on a key
    # the request lacks never matches, so under the ListBucket condition it would always be denied.
    statements.append(
        {
            "Effect": "Allow",
            "Action": "s3:GetBucketLocation",
            "Resource": [f"arn:aws:s3:::{bucket}" for bucket in sorted(by_bucket)],
        }
    )
    return {"Version": _VERSION, "Statement": statements}


def sns_publish_policy(topic_arn: str) -> Policy:
    return {"Version": _VERSION, "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": topic_arn}]}


def describe_integration(session: Session, name: str) -> dict[str, str]:
    """``DESC INTEGRATION``: property -> value."""
    rows = session.query(f"DESC INTEGRATION {Identifier.parse(name).sql}")
    return {str(row["property"]): str(row["property_value"] or "") for row in rows}


def integration_roles(session: Session, project: Project) -> list[RolePolicies]:
    """The storage integration's role, then the notification integration's, filled from what the account says
    (the external ids and Snowflake's IAM user exist only there)."""
    storage_name = project.loaded.project.storage_integration.name
    notification_name = project.loaded.project.notification_integration.name
    storage = describe_integration(session, storage_name)
    notification = describe_integration(session, notification_name)

    def required(properties: dict[str, str], integration: str, key: str) -> str:
        value = properties.get(key)
        if not value:
            raise AwsWiringError(f"DESC INTEGRATION {integration} shows no {key}: is it the right kind of integration?")
        return value

    locations = [(pipeline.bucket, pipeline.prefix) for pipeline in project.desired.pipelines]
    return [
        RolePolicies(
            integration=storage_name,
            role_arn=required(storage, storage_name, "STORAGE_AWS_ROLE_ARN"),
            trust_policy=trust_policy(
                storage_name,
                required(storage, storage_name, "STORAGE_AWS_IAM_USER_ARN"),
                required(storage, storage_name, "STORAGE_AWS_EXTERNAL_ID"),
            ),
            policy_name=STORAGE_POLICY_NAME,
            permission_policy=storage_read_policy(locations),
        ),
        RolePolicies(
            integration=notification_name,
            role_arn=required(notification, notification_name, "AWS_SNS_ROLE_ARN"),
            trust_policy=trust_policy(
                notification_name,
                required(notification, notification_name, "SF_AWS_IAM_USER_ARN"),
                required(notification, notification_name, "SF_AWS_EXTERNAL_ID"),
            ),
            policy_name=NOTIFICATION_POLICY_NAME,
            permission_policy=sns_publish_policy(required(notification, notification_name, "AWS_SNS_TOPIC_ARN")),
        ),
    ]


def apply_role_policies(iam_client: Any, roles: Sequence[RolePolicies]) -> list[AwsChange]:
    """Put each integration's trust statement into its role's trust policy (merged: the role's other statements
    stay, and two integrations sharing a role both keep theirs) and make its inline permission policy the one
    given; a policy already right is not written again. Every role must exist, checked before anything is
    written (their ARNs are in the integrations)."""
    current: dict[str, Policy] = {}
    for role in roles:
        try:
            current[role.role_name] = iam_client.get_role(RoleName=role.role_name)["Role"]["AssumeRolePolicyDocument"]
        except iam_client.exceptions.NoSuchEntityException:
            raise AwsWiringError(
                f"IAM role {role.role_name} ({role.role_arn}, used by {role.integration}) does not exist: create it"
            ) from None
    changes: list[AwsChange] = []
    for name, trust in current.items():
        sharing = [role for role in roles if role.role_name == name]
        wanted = merged_trust_policy(trust, [role.trust_policy for role in sharing])
        if wanted != trust:
            integrations = ", ".join(role.integration for role in sharing)
            changes.append(AwsChange("update", f"iam role {name} trust policy", integrations))
            iam_client.update_assume_role_policy(RoleName=name, PolicyDocument=_text(wanted))
    for role in roles:
        try:
            response = iam_client.get_role_policy(RoleName=role.role_name, PolicyName=role.policy_name)
            current_policy = response["PolicyDocument"]
        except iam_client.exceptions.NoSuchEntityException:
            current_policy = None
        if current_policy != role.permission_policy:
            action: Action = "create" if current_policy is None else "update"
            changes.append(AwsChange(action, f"iam role {role.role_name} policy {role.policy_name}", role.integration))
            iam_client.put_role_policy(
                RoleName=role.role_name, PolicyName=role.policy_name, PolicyDocument=_text(role.permission_policy)
            )
    return changes


def _text(policy: Policy) -> str:
    return json.dumps(policy, separators=(",", ":"))
