"""What the AWS wiring changes (or would change, in a dry run), in one shape for every resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["create", "update", "delete"]


class AwsWiringError(Exception):
    """The AWS side cannot be made to match the specs; the message is safe to print."""


@dataclass(frozen=True)
class AwsChange:
    """One change: ``resource`` names what changes (a bucket notification, a topic, a subscription, a role
    policy), ``detail`` says to what."""

    action: Action
    resource: str
    detail: str = ""

    def __str__(self) -> str:
        symbol = {"create": "+", "update": "~", "delete": "-"}[self.action]
        return f"{symbol} {self.action:<6} {self.resource}" + (f": {self.detail}" if self.detail else "")
