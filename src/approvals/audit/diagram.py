"""Workflow diagrams: Mermaid text, and a self-contained SVG for reports read offline."""

from __future__ import annotations

import html
from collections import deque

from approvals.domain.workflow import Workflow

__all__ = ["mermaid", "svg_diagram"]

_BOX_W, _BOX_H, _COL, _ROW, _PAD = 180, 46, 330, 84, 30


def mermaid(workflow: Workflow, lang: str) -> str:
    """Return the workflow as a Mermaid state diagram."""
    lines = ["stateDiagram-v2", f"    [*] --> {workflow.initial}"]
    for state in workflow.states.values():
        lines.append(f"    {state.name} : {state.label.get(lang)}")
    for step in workflow.steps.values():
        lines.append(f"    {step.source} --> {step.dest} : {step.trigger} ({step.role})")
    for state in workflow.states.values():
        if state.terminal:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines)


def _layers(workflow: Workflow) -> dict[str, tuple[int, int]]:
    """Place each state: column by distance from the initial state, terminal states last."""
    depth = {workflow.initial: 0}
    queue = deque([workflow.initial])
    while queue:
        state = queue.popleft()
        for (source, _), step in workflow.steps.items():
            if source == state and step.dest not in depth:
                depth[step.dest] = depth[state] + 1
                queue.append(step.dest)
    last = max(depth.values()) + 1
    columns: dict[int, list[str]] = {}
    for name, shape in workflow.states.items():
        column = last if shape.terminal else depth.get(name, last)
        columns.setdefault(column, []).append(name)
    return {
        name: (column, row) for column, names in columns.items() for row, name in enumerate(names)
    }


def svg_diagram(workflow: Workflow, lang: str) -> str:
    """Return the workflow as an SVG drawing: states as boxes, steps as labelled arrows."""
    place = _layers(workflow)
    width = (max(c for c, _ in place.values()) + 1) * _COL + _PAD
    height = (max(r for _, r in place.values()) + 1) * _ROW + _PAD * 3

    def centre(name: str) -> tuple[float, float]:
        column, row = place[name]
        return _PAD + column * _COL + _BOX_W / 2, _PAD * 1.5 + row * _ROW + _BOX_H / 2

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"font-family='sans-serif' font-size='11'>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' "
        "markerHeight='7' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#555'/>"
        "</marker></defs>",
    ]
    loops: dict[str, list[str]] = {}
    for step in workflow.steps.values():
        if step.source == step.dest:
            loops.setdefault(step.source, []).append(f"↻ {step.trigger} ({step.role})")
    for name, labels in loops.items():
        # Steps that stay in the state are listed under its box, one a line.
        x, y = centre(name)
        for index, text in enumerate(labels):
            parts.append(f"<text x='{x}' y='{y + _BOX_H / 2 + 13 + index * 12}' "
                         f"text-anchor='middle' fill='#555'>{html.escape(text)}</text>")  # fmt: skip
    for step in workflow.steps.values():
        (x1, y1), (x2, y2) = centre(step.source), centre(step.dest)
        label = html.escape(f"{step.trigger} ({step.role})")
        if step.source == step.dest:
            continue
        forward = x2 > x1
        sx = x1 + (_BOX_W / 2 if forward else -_BOX_W / 2)
        ex = x2 - (_BOX_W / 2 if forward else -_BOX_W / 2)
        bend = 0 if forward else 40
        mx, my = (sx + ex) / 2, (y1 + y2) / 2 + bend
        parts.append(f"<path d='M{sx},{y1} Q{mx},{my + bend} {ex},{y2}' fill='none' stroke='#888' "
                     f"marker-end='url(#arrow)'/>")  # fmt: skip
        parts.append(f"<text x='{mx}' y='{my - 4}' text-anchor='middle' fill='#444'>{label}</text>")
    for name, state in workflow.states.items():
        x, y = centre(name)
        fill = "#eef6ee" if state.terminal else ("#eef2fb" if name == workflow.initial else "#fff")
        parts.append(f"<rect x='{x - _BOX_W / 2}' y='{y - _BOX_H / 2}' width='{_BOX_W}' "
                     f"height='{_BOX_H}' rx='8' fill='{fill}' stroke='#333'/>")  # fmt: skip
        parts.append(f"<text x='{x}' y='{y - 3}' text-anchor='middle' font-weight='bold'>"
                     f"{html.escape(name)}</text>")  # fmt: skip
        parts.append(f"<text x='{x}' y='{y + 12}' text-anchor='middle' fill='#333'>"
                     f"{html.escape(state.label.get(lang))}</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)
