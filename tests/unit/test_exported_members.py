"""The public names of the package: sorted, and each one importable."""

import pytest

import approvals


def isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions: the order ruff keeps ``__all__`` in."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert approvals.__all__ == sorted(approvals.__all__, key=isort_style)
    for name in approvals.__all__:
        assert getattr(approvals, name) is not None
    assert set(approvals.__all__) <= set(dir(approvals))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        approvals.nothing_here  # noqa: B018
