"""The keys a workflow definition file may hold, table by table.

The parser (:mod:`approvals.definitions.parser`) refuses any other key, naming the file, the key
and these; ``docs/workflows.md`` documents each, and a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "CHECKLIST_KEYS",
    "DEADLINE_KEYS",
    "DEFINITION_KEYS",
    "FIELD_KEYS",
    "FILE_KEYS",
    "LABEL_KEYS",
    "RETENTION_KEYS",
    "STATE_KEYS",
    "STEP_KEYS",
    "TOP_KEYS",
]

TOP_KEYS = frozenset({
    "id", "version", "prefix", "title", "articles", "initial", "file", "retention", "fields",
    "checklist", "states", "steps", "deadlines", "date_order",
})  # fmt: skip
"""The keys at the top of a definition file."""
FILE_KEYS = frozenset({"role", "fields"})
"""The keys of ``[file]``: who files a notice and what it must give."""
FIELD_KEYS = frozenset(
    {"label", "kind", "choices", "workflow", "items", "past", "not_before", "any_of"}
)
"""The keys of one field, ``[fields.NAME]``."""
CHECKLIST_KEYS = frozenset({"label"})
"""The keys of one checklist item, ``[checklist.NAME]``."""
STATE_KEYS = frozenset({"label", "terminal"})
"""The keys of one state, ``[states.NAME]``."""
STEP_KEYS = frozenset({
    "trigger", "from", "to", "role", "label", "fields", "checklist", "comment_required",
    "filer_only", "expect", "articles", "fresh", "approves", "fields_if",
})  # fmt: skip
"""The keys of one step, ``[[steps]]``."""
DEADLINE_KEYS = frozenset({
    "id", "label", "states", "within", "restart_on", "articles", "from", "until", "when",
    "unless", "periodic",
})  # fmt: skip
"""The keys of one deadline, ``[[deadlines]]``."""
RETENTION_KEYS = frozenset({"starts_on", "years", "articles", "from_field"})
"""The keys of ``[retention]``."""
LABEL_KEYS = frozenset({"en", "ja"})
"""The keys of every label (``title``, ``label``): the English and the Japanese text."""

DEFINITION_KEYS: Mapping[str, frozenset[str]] = {
    "top": TOP_KEYS,
    "file": FILE_KEYS,
    "fields": FIELD_KEYS,
    "checklist": CHECKLIST_KEYS,
    "states": STATE_KEYS,
    "steps": STEP_KEYS,
    "deadlines": DEADLINE_KEYS,
    "retention": RETENTION_KEYS,
    "label": LABEL_KEYS,
}
"""Every table of a definition file, by the name docs/workflows.md gives it, with its keys.
The keys of ``expect``, ``when``, ``unless`` and ``fields_if`` are field names, those of
``within`` a unit (:data:`approvals.domain.workflow.DURATION_UNITS`)."""
