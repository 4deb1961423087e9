"""A company's folder of definitions beside the built-ins, for a host: ``open_approvals(
workflows=DIR)`` adds, a mapping is the host's exact set, and a case of a company's newer
version of a built-in is checked by its own rules, not the older built-in's."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals import open_approvals
from approvals.audit.rules import newest_definition
from approvals.definitions import builtin_workflows_dir, load_directory, load_workflows
from approvals.errors import DefinitionError
from tests.unit.test_workflows_doc import marked

BUILTINS = load_directory()


def _purpose(folder: Path, version: int, prefix: str = "NP") -> Path:
    source = (builtin_workflows_dir() / "purpose.toml").read_text(encoding="utf-8")
    old = BUILTINS["purpose"].version
    changed = source.replace(f"version = {old}", f"version = {version}").replace(
        'prefix = "NP"', f'prefix = "{prefix}"'
    )
    path = folder / "purpose.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def test_the_folder_adds_its_workflows_beside_the_built_ins(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(marked("example")["mine.toml"], encoding="utf-8")
    loaded = load_workflows(tmp_path)
    assert set(loaded) == {*BUILTINS, "mine"}
    assert loaded["purpose"].sha256 == BUILTINS["purpose"].sha256
    assert set(load_workflows()) == set(BUILTINS)  # no folder: the built-ins alone


def test_a_higher_version_of_a_built_in_replaces_it(tmp_path: Path) -> None:
    version = BUILTINS["purpose"].version + 1
    path = _purpose(tmp_path, version)
    replaced = load_workflows(tmp_path)["purpose"]
    assert (replaced.version, replaced.path) == (version, str(path))


def test_a_replacement_under_another_prefix_is_refused(tmp_path: Path) -> None:
    path = _purpose(tmp_path, BUILTINS["purpose"].version + 1, prefix="NPX")
    with pytest.raises(DefinitionError) as refused:
        load_workflows(tmp_path)
    assert str(refused.value).startswith(f"Workflow file {path} is refused at prefix: NPX ")
    assert "keeps the built-in's prefix" in str(refused.value)
    assert "接頭辞" in refused.value.render("ja")


def test_a_host_opens_on_the_folder_or_on_exactly_its_own_mapping(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(marked("example")["mine.toml"], encoding="utf-8")
    app = open_approvals("sqlite://", workflows=tmp_path)
    try:
        assert set(app.workflows) == {*BUILTINS, "mine"}
    finally:
        app.close()
    app = open_approvals("sqlite://", workflows=str(tmp_path))
    try:
        assert "mine" in app.workflows
    finally:
        app.close()
    only = {"mine": load_workflows(tmp_path)["mine"]}
    app = open_approvals("sqlite://", workflows=only)
    try:
        assert set(app.workflows) == {"mine"}
    finally:
        app.close()


def test_a_case_newer_than_the_loaded_definition_is_checked_by_its_own(tmp_path: Path) -> None:
    _purpose(tmp_path, BUILTINS["purpose"].version + 1)
    newer = load_workflows(tmp_path)["purpose"]
    app = open_approvals("sqlite://")  # the built-ins alone: a verifier without the folder
    try:
        assert newest_definition(app, newer) is newer
        assert newest_definition(app, BUILTINS["purpose"]) is app.workflows["purpose"]
    finally:
        app.close()
    app = open_approvals("sqlite://", workflows=tmp_path)
    try:
        assert newest_definition(app, BUILTINS["purpose"]) is app.workflows["purpose"]
    finally:
        app.close()
