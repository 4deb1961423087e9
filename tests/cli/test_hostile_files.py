"""Files and completions a user can hand the command line that must not break it.

An attachment is only ever a regular file under the size limit, read once; a workflow file too
large or nested too deep is refused with a sentence; tab completion answers only people on the
roster.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import approvals.results
from approvals.cli import cli
from approvals.cli.cases import complete_case, complete_trigger
from approvals.demo import CHIEF, FILINGS, MANAGER, STAFF
from tests.cli.conftest import HERMETIC_ENV, Run
from tests.cli.test_commands import describe, events, file_case, one_sentence, sets

FILE_PURPOSE = ("file", "purpose", "--title", "x", "--department", "sales")
WITH_FIELDS = (*FILE_PURPOSE, *sets(FILINGS["purpose"]))


def cli_in_a_subprocess(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `approvals` as a separate process, so a hang fails the test instead of the suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    return subprocess.run(
        [sys.executable, "-m", "approvals", "--db", str(store), "--user", STAFF, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def refused_in_a_subprocess(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- attachments -------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_attaching_dev_zero_is_refused_at_once_and_nothing_is_written(store: Path) -> None:
    before = events(store)
    done = cli_in_a_subprocess(store, *WITH_FIELDS, "--attach", "/dev/zero")
    sentence = refused_in_a_subprocess(done)
    assert "/dev/zero" in sentence
    assert "regular file" in sentence
    assert events(store) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_attaching_a_fifo_is_refused_without_waiting_for_a_writer(
    store: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    before = events(store)
    sentence = refused_in_a_subprocess(
        cli_in_a_subprocess(store, *WITH_FIELDS, "--attach", str(fifo))
    )
    assert str(fifo) in sentence
    assert "regular file" in sentence
    assert events(store) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_link_to_a_fifo_is_refused_like_the_fifo(store: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "contract.pdf"
    link.symlink_to(fifo)
    before = events(store)
    sentence = refused_in_a_subprocess(
        cli_in_a_subprocess(store, *WITH_FIELDS, "--attach", str(link))
    )
    assert "contract.pdf" in sentence
    assert events(store) == before


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_attaching_a_directory_is_refused_with_one_sentence(
    run: Run, store: Path, tmp_path: Path, lang: str
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    before = events(store)
    sentence = one_sentence(run(*WITH_FIELDS, "--attach", str(folder), user=STAFF, lang=lang), lang)
    assert str(folder) in sentence
    assert events(store) == before


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_an_attachment_one_byte_over_the_limit_is_refused(
    run: Run, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setattr(approvals.results, "ATTACHMENT_LIMIT", 64)
    big = tmp_path / "big.pdf"
    big.write_bytes(b"x" * 65)
    before = events(store)
    sentence = one_sentence(run(*WITH_FIELDS, "--attach", str(big), user=STAFF, lang=lang), lang)
    assert str(big) in sentence
    assert "64" in sentence
    assert events(store) == before


def test_an_attachment_at_the_limit_is_recorded_with_the_size_read(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(approvals.results, "ATTACHMENT_LIMIT", 64)
    exact = tmp_path / "exact.pdf"
    exact.write_bytes(b"x" * 64)
    link = tmp_path / "link.pdf"
    link.symlink_to(exact)
    result = run("--json", *WITH_FIELDS, "--attach", str(link), user=STAFF)
    assert result.exit_code == 0, describe(result)
    assert '"size": 64' in result.stdout


def test_the_library_refuses_content_over_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from approvals.errors import InvalidValue
    from approvals.results import Document

    monkeypatch.setattr(approvals.results, "ATTACHMENT_LIMIT", 8)
    assert Document.of("fits.txt", b"12345678").size == 8
    with pytest.raises(InvalidValue, match=r"too-big\.txt"):
        Document.of("too-big.txt", b"123456789")
    (tmp_path / "too-big.txt").write_bytes(b"123456789")
    with pytest.raises(InvalidValue, match=r"too-big\.txt"):
        Document.from_path(tmp_path / "too-big.txt")


# -- workflow files ----------------------------------------------------------------------------


def validate(path: Path, lang: str = "en") -> str:
    result = CliRunner().invoke(
        cli,
        ["workflows", "validate", str(path)],
        env={**HERMETIC_ENV, "APPROVALS_LANG": lang},
        prog_name="approvals",
    )
    return one_sentence(result, lang)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_workflow_file_nested_20000_deep_is_refused_with_a_sentence(
    tmp_path: Path, lang: str
) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 20_000 + "]" * 20_000 + "\n", encoding="utf-8")
    assert str(deep) in validate(deep, lang)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_workflow_file_of_2_mib_is_refused_with_a_sentence(tmp_path: Path, lang: str) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * (2 * 1024 * 1024 // 10), encoding="utf-8")
    sentence = validate(big, lang)
    assert str(big) in sentence
    assert "MiB" in sentence


# -- completion --------------------------------------------------------------------------------


def completion_context(
    db: Path, command_name: str, user: str | None, **params: object
) -> click.Context:
    root = click.Context(cli, info_name="approvals")
    root.params.update(db=str(db), user=user)
    command = cli.commands[command_name]
    context = click.Context(command, parent=root, info_name=command_name)
    context.params.update(params)
    return context


def offered_cases(store: Path, user: str | None) -> list[str]:
    context = completion_context(store, "show", user)
    reference = next(p for p in context.command.params if p.name == "reference")
    return [item.value for item in complete_case(context, reference, "")]


def test_case_references_are_offered_to_a_roster_member_only(run: Run, store: Path) -> None:
    ref = file_case(run)
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    assert offered_cases(store, CHIEF) == [ref]
    assert offered_cases(store, "mallory") == []


def test_the_steps_of_a_case_are_offered_to_a_roster_member_only(run: Run, store: Path) -> None:
    ref = file_case(run)
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    trigger = next(p for p in cli.commands["act"].params if p.name == "trigger")
    member = completion_context(store, "act", MANAGER, reference=ref)
    assert [item.value for item in complete_trigger(member, trigger, "")] == [
        "consult",
        "return",
    ]
    stranger = completion_context(store, "act", "mallory", reference=ref)
    assert complete_trigger(stranger, trigger, "") == []


def test_bash_completion_for_someone_off_the_roster_prints_nothing_anywhere(
    run: Run, store: Path
) -> None:
    ref = file_case(run)
    run("list", user=CHIEF)  # completion reads the read models: caught up by any list
    db = shlex.quote(str(store))

    def complete(words: str, user: str) -> tuple[list[str], str]:
        result = CliRunner().invoke(
            cli,
            [],
            env={
                **HERMETIC_ENV,
                "APPROVALS_USER": user,
                "_APPROVALS_COMPLETE": "bash_complete",
                "COMP_WORDS": words,
                "COMP_CWORD": str(len(shlex.split(words)) - (0 if words.endswith(" ") else 1)),
            },
            prog_name="approvals",
        )
        assert result.exit_code == 0, describe(result)
        return result.stdout.split(), result.stderr

    assert complete(f"approvals --db {db} show NP", "mallory") == ([], "")
    assert complete(f"approvals --db {db} act {ref} ", "mallory") == ([], "")
    assert complete(f"approvals --db {db} show NP", CHIEF) == ([f"plain,{ref}"], "")
    assert complete(f"approvals --db {db} --user mallory show NP", CHIEF) == ([], "")
