"""Dependency ordering (Kahn's algorithm, deterministic: ties broken by the object's key)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from retail_etl.objects.base import DesiredObject, ObjectRef


class CycleError(ValueError):
    def __init__(self, cycle: list[ObjectRef]) -> None:
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(str(r) for r in cycle))


def dependency_graph(objects: Mapping[ObjectRef, DesiredObject]) -> dict[ObjectRef, list[ObjectRef]]:
    """What each of ``objects`` depends on among them (keyed by ``obj.ref``).

    Every dependency is the ``ref`` of the object it names, not an equal copy: dict and set look-ups then match on
    identity instead of comparing names part by part, and each reference computes its key once.
    """
    graph: dict[ObjectRef, list[ObjectRef]] = {}
    for ref, obj in objects.items():
        targets = (objects.get(dep) for dep in obj.dependency_refs)
        graph[ref] = [target.ref for target in targets if target is not None]
    return graph


def topological_order(graph: Mapping[ObjectRef, Sequence[ObjectRef]]) -> list[ObjectRef]:
    """Every node after the nodes it depends on; ``graph[n]`` lists what ``n`` depends on."""
    # Counts of unmet dependencies rather than sets of them: the graph of a large project has tens of thousands
    # of edges, and this runs for every validate, render and plan.
    waiting: dict[ObjectRef, int] = {}
    dependents: dict[ObjectRef, list[ObjectRef]] = {node: [] for node in graph}
    for node, deps in graph.items():
        distinct = {d for d in deps if d in graph}
        waiting[node] = len(distinct)
        for dep in distinct:
            dependents[dep].append(node)
    ready = [(node.key, node) for node, count in waiting.items() if not count]
    heapq.heapify(ready)
    order: list[ObjectRef] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for dependent in dependents[node]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                heapq.heappush(ready, (dependent.key, dependent))
    if len(order) != len(graph):
        done = set(order)
        left = {n: {d for d in deps if d in graph and d not in done} for n, deps in graph.items() if n not in done}
        raise CycleError(_find_cycle(left))
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
