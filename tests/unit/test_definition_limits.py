"""A workflow file too large or nested too deep is refused with a sentence naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

import approvals.definitions.reader
from approvals.definitions import builtin_workflows_dir, load_file, parse_definition
from approvals.errors import DefinitionError


def nested(depth: int) -> str:
    return "x = " + "[" * depth + "]" * depth + "\n"


def test_a_definition_nested_20000_deep_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"deep\.toml.*nested"):
        parse_definition(nested(20_000), "deep.toml")


def test_a_definition_nested_past_the_limit_is_refused_before_its_keys_are_read() -> None:
    limit = approvals.definitions.reader.DEFINITION_DEPTH_LIMIT
    with pytest.raises(DefinitionError, match=r"nested") as refused:
        parse_definition(nested(limit + 1), "deep.toml")
    assert "deep.toml" in str(refused.value)
    assert str(limit) in str(refused.value)
    assert "ネスト" in refused.value.render("ja")


def test_nested_inline_tables_count_as_levels_too() -> None:
    limit = approvals.definitions.reader.DEFINITION_DEPTH_LIMIT
    deep = "x = " + "{a = " * (limit + 1) + "1" + "}" * (limit + 1) + "\n"
    with pytest.raises(DefinitionError, match=r"nested"):
        parse_definition(deep, "deep.toml")


def test_the_reference_workflows_are_within_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    purpose = builtin_workflows_dir() / "purpose.toml"
    assert load_file(purpose).id == "purpose"
    monkeypatch.setattr(approvals.definitions.reader, "DEFINITION_DEPTH_LIMIT", 2)
    with pytest.raises(DefinitionError, match=r"purpose\.toml.*nested"):
        load_file(purpose)


def test_a_definition_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    big = tmp_path / "purpose.toml"
    big.write_text(source + "# padding\n" * (2 * 1024 * 1024 // 10), encoding="utf-8")
    with pytest.raises(DefinitionError, match=r"purpose\.toml.*1 MiB") as refused:
        load_file(big)
    assert "1 MiB" in refused.value.render("ja")


def test_a_definition_file_one_byte_over_a_lowered_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (builtin_workflows_dir() / "purpose.toml").read_bytes()
    exact = tmp_path / "purpose.toml"
    exact.write_bytes(source)
    monkeypatch.setattr(approvals.definitions.reader, "DEFINITION_SIZE_LIMIT", len(source))
    assert load_file(exact).id == "purpose"
    exact.write_bytes(source + b"\n")
    with pytest.raises(DefinitionError, match=r"purpose\.toml"):
        load_file(exact)
