"""Execute a plan: its changes in dependency order, independent ones concurrently, UNSAFE ones only if allowed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from retail_etl.objects.base import Action
from retail_etl.plan.planner import Change, Plan
from retail_etl.targets.session import Session


def refused_changes(plan: Plan, allowed: Iterable[str]) -> list[Change]:
    """UNSAFE changes whose categories (kind, ``adopt``, or both: ``adopt,table``) are not all allowed; ``all``
    allows every category."""
    allowed_set = {a.strip().lower() for a in allowed if a.strip()}
    if "all" in allowed_set:
        return []
    return [c for c in plan.unsafe() if not set(c.category.split(",")) <= allowed_set]


@dataclass
class ApplyResult:
    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[Change] = field(default_factory=list)
    statements: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


Event = Callable[[str, Change, str | None], None]


def execute_plan(
    plan: Plan,
    session: Session,
    *,
    parallelism: int = 8,
    on_event: Event | None = None,
) -> ApplyResult:
    """Run each change's statements in order; a change starts once the changes it depends on succeeded.

    On the first failure no new change starts; those already running finish; the rest are reported skipped.
    """
    changes = [c for c in plan.changes if c.action is not Action.UNCHANGED and c.statements]
    by_key = {c.key: c for c in changes}
    waiting = {c.key: {d for d in c.depends_on if d in by_key} for c in changes}
    result = ApplyResult()
    lock = threading.Lock()
    notify = on_event or (lambda _kind, _change, _detail: None)

    def run(change: Change) -> None:
        notify("start", change, None)
        for statement in change.statements:
            session.execute(statement)
            with lock:
                result.statements += 1

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        running: dict[Future[None], Change] = {}
        failed = False
        while waiting or running:
            if not failed:
                for key in sorted(k for k, deps in waiting.items() if not deps):
                    del waiting[key]
                    running[pool.submit(run, by_key[key])] = by_key[key]
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                change = running.pop(future)
                error = future.exception()
                if error is None:
                    result.done.append(change)
                    notify("done", change, None)
                    for deps in waiting.values():
                        deps.discard(change.key)
                else:
                    failed = True
                    result.failed.append((change, str(error)))
                    notify("failed", change, str(error))
        result.skipped.extend(by_key[key] for key in sorted(waiting))
    return result
