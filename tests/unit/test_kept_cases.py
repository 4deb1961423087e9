"""What the walk by aggregate keeps on disk of the cases that replay clean, read back by the
parent: the cases whose record is in doubt, and the summaries the rules across cases read —
every one, once, in the order the cases were filed, whichever share's file holds it, merged
with those held in memory, without those taken back or of workflows the rules do not read."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.audit.cases import Share
from approvals.audit.kept import Kept, KeptWriter
from approvals.audit.links import LinkSummary
from approvals.audit.rules import _Summaries

WORKFLOWS = ("entrustment", "subcontracting", "provision", "request", "sending")
DEFINITIONS: dict[tuple[str, int, str], Any] = {
    (workflow, 1, workflow[:3]): f"definition of {workflow}" for workflow in WORKFLOWS
}


def summary(reference: str, workflow: str) -> LinkSummary:
    return LinkSummary(reference, workflow, 1, "sales", ((1, "notified"), (2, "approved")))


cases = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(WORKFLOWS), st.booleans(), st.booleans()),
    min_size=0,
    max_size=40,
)  # (where: a share's file or, 2, in memory; workflow; whether taken back; record in doubt)


@settings(max_examples=60, deadline=None)
@given(cases=cases, linked=st.sets(st.sampled_from(WORKFLOWS)), data=st.data())
def test_the_summaries_are_read_in_the_order_filed_whichever_file_holds_them(
    tmp_path_factory: Any, cases: list[tuple[int, str, bool, bool]], linked: set[str],
    data: st.DataObject,
) -> None:  # fmt: skip
    folder: Path = tmp_path_factory.mktemp("kept")
    notices = data.draw(st.permutations(range(10, 10 + 3 * len(cases)))) if cases else []
    writers = [KeptWriter(str(folder / f"share-{index}.db")) for index in range(2)]
    here: dict[str, tuple[LinkSummary, Any]] = {}
    at: dict[str, int] = {}
    found = Share(workflows=dict(DEFINITIONS))
    doubtful: set[bytes] = set()
    expected_doubtful = []
    for number, (where, workflow, back, doubt) in enumerate(cases):
        reference, notice = f"C-{number:03d}", notices[number]
        key = (workflow, 1, workflow[:3])
        record = number.to_bytes(16, "big")
        if where == 2:
            here[reference], at[reference] = (
                (summary(reference, workflow), DEFINITIONS[key]),
                notice,
            )
            continue
        made = summary(reference, workflow)
        writers[where].write([(notice, record, reference)], [(notice, reference, key, made)])
        if back:
            found.taken_back.add(reference)
        if doubt:
            doubtful.add(record)
            expected_doubtful.append((notice, record, reference))
    for writer in writers:
        writer.close()
    kept = Kept([writer.path for writer in writers])
    try:
        assert kept.count() == sum(1 for where, *_ in cases if where < 2)
        assert sorted(kept.doubtful(doubtful)) == sorted(expected_doubtful)
        mine = {r: v for r, v in here.items() if v[0].workflow_id in linked}
        loaded = _Summaries(
            mine, at, kept, workflows=found.workflows, skip=found.taken_back, linked=linked
        )
        wanted = sorted(
            (notices[number], f"C-{number:03d}")
            for number, (where, workflow, back, _) in enumerate(cases)
            if workflow in linked and not (where < 2 and back)
        )
        streamed = list(loaded.items())
        assert [reference for reference, _ in streamed] == [r for _, r in wanted]
        assert list(loaded) == [r for _, r in wanted]
        assert len(loaded) == len(wanted)
        for reference, (made, definition) in streamed:
            assert made.reference == reference
            assert definition == f"definition of {made.workflow_id}"
            assert loaded[reference] == (made, definition)
        assert list(loaded.values()) == [value for _, value in streamed]
        for number, (where, workflow, back, _) in enumerate(cases):
            reference = f"C-{number:03d}"
            if workflow not in linked or (where < 2 and back):
                assert loaded.get(reference) is None, reference
        assert loaded.get("C-999") is None
    finally:
        kept.close()


def test_a_share_file_is_read_by_reference_after_its_writer_closed_it(tmp_path: Path) -> None:
    writer = KeptWriter(str(tmp_path / "share.db"))
    key = ("entrustment", 1, "ent")
    writer.write([(5, bytes(16), "E-1")], [(5, "E-1", key, summary("E-1", "entrustment"))])
    writer.write([(3, bytes(15) + b"\x01", "S-1")], [])
    writer.close()
    kept = Kept([writer.path])
    try:
        assert kept.summary("E-1") == (key, summary("E-1", "entrustment"))
        assert kept.summary("S-1") is None  # clean, and no rule across cases reads it
        assert kept.workflows() == {"entrustment"}
        assert [row[:2] for row in kept.summaries()] == [(5, "E-1")]
        assert cast(list[Any], list(kept.doubtful([bytes(15) + b"\x01"]))) == [
            (3, bytes(15) + b"\x01", "S-1")
        ]
    finally:
        kept.close()
