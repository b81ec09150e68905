"""Dependency ordering (Kahn's algorithm, deterministic: ties broken by the object's key)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from retail_etl.objects.base import ObjectRef


class CycleError(ValueError):
    def __init__(self, cycle: list[ObjectRef]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(str(r) for r in cycle))


def topological_order(graph: Mapping[ObjectRef, Sequence[ObjectRef]]) -> list[ObjectRef]:
    """Every node after the nodes it depends on; ``graph[n]`` lists what ``n`` depends on."""
    remaining = {node: {d for d in deps if d in graph} for node, deps in graph.items()}
    dependents: dict[ObjectRef, list[ObjectRef]] = {node: [] for node in graph}
    for node, deps in remaining.items():
        for dep in deps:
            dependents[dep].append(node)
    ready = [(node.key, node) for node, deps in remaining.items() if not deps]
    heapq.heapify(ready)
    order: list[ObjectRef] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            remaining[dependent].discard(node)
            if not remaining[dependent]:
                heapq.heappush(ready, (dependent.key, dependent))
    if len(order) != len(graph):
        raise CycleError(_find_cycle({n: d for n, d in remaining.items() if d}))
    return order


def _find_cycle(graph: Mapping[ObjectRef, set[ObjectRef]]) -> list[ObjectRef]:
    start = min(graph, key=lambda r: r.key)
    path: list[ObjectRef] = []
    seen: dict[ObjectRef, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(graph[node], key=lambda r: r.key)
    return [*path[seen[node] :], node]
