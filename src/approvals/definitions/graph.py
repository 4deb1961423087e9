"""Checks on a definition's state graph: reachable, no dead ends, always a way to finish."""

from __future__ import annotations

from collections.abc import Mapping

from approvals.definitions.reader import TableReader
from approvals.domain.workflow import State, Step

__all__ = ["check_graph"]


def check_graph(
    reader: TableReader,
    initial: str,
    states: Mapping[str, State],
    steps: Mapping[tuple[str, str], Step],
) -> None:
    """Refuse a graph with an unreachable state, a dead end, or no way to a terminal state."""
    out: dict[str, set[str]] = {name: set() for name in states}
    into: dict[str, set[str]] = {name: set() for name in states}
    for (source, _), step in steps.items():
        out[source].add(step.dest)
        into[step.dest].add(source)
    reachable = _closure({initial}, out)
    for name in states:
        if name not in reachable:
            raise reader.fail(
                f"states.{name}",
                f"cannot be reached from the initial state '{initial}'",
                f"初期状態 '{initial}' から到達できません",
            )
    for name, state in states.items():
        if not state.terminal and not out[name]:
            raise reader.fail(
                f"states.{name}",
                "is a dead end: it is not terminal and no step leaves it",
                "行き止まりです: 終了状態ではないのに出る手順がありません",
            )
    can_finish = _closure({name for name, state in states.items() if state.terminal}, into)
    for name in states:
        if name not in can_finish:
            raise reader.fail(
                f"states.{name}",
                "can never reach a terminal state",
                "どの終了状態にも到達できません",
            )


def _closure(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        for nxt in edges[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen
