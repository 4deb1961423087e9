"""The distribution: a name of its own on PyPI that the README installs, an MIT licence in
wheel and sdist, and an sdist that holds everything its tests read."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import metadata, version
from pathlib import Path

from click.testing import CliRunner

from approvals.cli import cli

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_distribution_is_not_called_approvals_which_pypi_gives_to_another_project() -> None:
    assert PROJECT["name"] == "approvals-engine"
    # The package's own extras name it too, or `pip install '.[test]'` would fetch the other.
    for extra in ("test", "dev"):
        named = [r for r in PROJECT["optional-dependencies"][extra] if r.startswith("approvals")]
        assert named, extra
        assert all(r.startswith(f"{PROJECT['name']}[") for r in named), named


def test_every_install_line_of_the_readme_names_this_distribution() -> None:
    installs = re.findall(r"pip install (?:-e )?'?([^'\s`]+)'?", README)
    assert installs, "the README installs nothing"
    for target in installs:
        name = re.sub(r"\[.*\]$", "", target)
        assert name in {".", PROJECT["name"]}, f"the README installs {target!r}"
    assert f"pip install '{PROJECT['name']}[postgres]'" in README
    # The two set-up commands still install the checkout itself.
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/approvals demo" in README
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/pytest" in README


def test_version_reads_the_installed_distribution() -> None:
    assert version(PROJECT["name"]) == PROJECT["version"]
    result = CliRunner().invoke(cli, ["--version"], prog_name="approvals")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"approvals, version {PROJECT['version']}\n"


def test_the_licence_is_mit_and_travels_with_the_distribution() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 approvals developers\n")
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    assert "LICENSE" in (metadata(PROJECT["name"]).get_all("License-File") or [])


def test_the_sdist_holds_what_its_tests_read() -> None:
    from hatchling.builders.sdist import SdistBuilder

    files = {f.distribution_path for f in SdistBuilder(str(ROOT)).recurse_included_files()}
    tops = {name.split("/")[0] for name in files}
    assert {"LICENSE", "README.md", "src", "workflows", "projections", "tests", "docs",
            "examples", "bench"} <= tops  # fmt: skip
    for needed in (
        "docs/traceability.md",
        "docs/workflows.md",
        "examples/quickstart.py",
        "examples/intranet/app.py",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "src/approvals/__init__.py",
        "workflows/purpose.toml",
        "tests/fixtures/v0.1.0/approvals.db",  # the previous release's store, to upgrade
        "tests/fixtures/v0.1.0/postgres.sql",
        "src/approvals/migrations/versions/v010_baseline.py",
    ):
        assert needed in files, needed
    assert any(name.startswith("tests/unit/data/") for name in files)
    # Benchmark output and byte code stay out (.gitignore).
    assert not [n for n in files if n.startswith("bench/out/") or "__pycache__" in n]
