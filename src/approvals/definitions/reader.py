"""Typed reading of a definition's TOML tables; every refusal names the file and the key."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from approvals.definitions.keys import LABEL_KEYS
from approvals.errors import DefinitionError, Label

__all__ = [
    "DEFINITION_DEPTH_LIMIT",
    "DEFINITION_SIZE_LIMIT",
    "TableReader",
    "join",
    "read_limited",
    "toml_tables",
]

DEFINITION_SIZE_LIMIT = 1024 * 1024
"""The largest workflow file, in bytes (1 MiB)."""

DEFINITION_DEPTH_LIMIT = 32
"""How deep tables and arrays may nest in a workflow file (the reference files use 4)."""


class TableReader:
    """Reads one file's tables; every refusal names the file and the dotted key."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, en: str, ja: str) -> DefinitionError:
        return DefinitionError(file=self.file, key=key, problem=Label(en, ja))

    # -- typed readers -----------------------------------------------------------------

    def table(self, value: Any, key: str, allowed: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", "テーブルである必要があります")
        allowed_keys = set(allowed)
        for name in value:
            if name not in allowed_keys:
                raise self.fail(
                    f"{key}.{name}" if key else name,
                    f"unknown key (allowed: {', '.join(sorted(allowed_keys))})",
                    f"不明なキーです(使えるキー: {', '.join(sorted(allowed_keys))})",
                )
        return value

    def required(self, table: Mapping[str, Any], name: str, prefix: str) -> Any:
        if name not in table:
            raise self.fail(join(prefix, name), "is missing", "必須の項目がありません")
        return table[name]

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty string", "空でない文字列が必要です")
        return value

    def name(self, value: Any, key: str) -> str:
        text = self.text(value, key)
        if (
            not text.replace("_", "").isalnum()
            or not text.isascii()
            or not text.islower()
            or text[0].isdigit()
        ):
            raise self.fail(
                key,
                f"'{text}' must be a lower-case identifier such as basic_contract",
                f"'{text}' は basic_contract のような英小文字の識別子にしてください",
            )
        return text

    def names(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of names", "名前のリストが必要です")
        return tuple(self.name(item, f"{key}[{index}]") for index, item in enumerate(value))

    def label(self, value: Any, key: str) -> Label:
        table = self.table(value, key, LABEL_KEYS)
        return Label(
            en=self.text(self.required(table, "en", key), f"{key}.en"),
            ja=self.text(self.required(table, "ja", key), f"{key}.ja"),
        )

    def integer(self, value: Any, key: str, minimum: int = 1) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.fail(
                key,
                f"must be a whole number of at least {minimum}",
                f"{minimum} 以上の整数が必要です",
            )
        return value

    def boolean(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false", "true か false が必要です")
        return value

    # -- the file ----------------------------------------------------------------------


def read_limited(path: Path) -> bytes:
    """Return the bytes of the file at ``path``, read once; refuse one over the size limit.

    Only a regular file is read: a named pipe would block the open until something writes to
    it, a device would never end.  The kind is checked before opening (a link is followed),
    and again on what was opened, without waiting, in case the path changed in between.
    """
    limit = DEFINITION_SIZE_LIMIT
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise _not_regular(path)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise _not_regular(path)
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        mib, rest = divmod(limit, 1024 * 1024)
        en, ja = (f"{limit} bytes", f"{limit} バイト") if rest else (f"{mib} MiB", f"{mib} MiB")
        raise DefinitionError(
            file=str(path),
            key="(file)",
            problem=Label(
                f"is larger than {en}, the most a workflow file may hold",
                f"ワークフロー定義の上限 {ja} を超えています",
            ),
        )
    return raw


def _not_regular(path: Path) -> DefinitionError:
    return DefinitionError(
        file=str(path),
        key="(file)",
        problem=Label(
            "is not a regular file (a named pipe, a device or a socket is never read)",
            "通常のファイルではありません(名前付きパイプ、デバイス、ソケットは読み込みません)",
        ),
    )


def toml_tables(source: str, file: str) -> dict[str, Any]:
    """Return the tables of TOML ``source``; refuse text that is not TOML or nests too deep."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(
            file=file,
            key="(syntax)",
            problem=Label(f"is not valid TOML ({error})", f"TOML として読めません({error})"),
        ) from None
    except (RecursionError, MemoryError):
        # tomllib recurses once per level: text nested thousands deep exhausts the stack first.
        raise _too_deep(file, "(file)") from None
    _check_depth(data, file)
    return data


def _check_depth(data: dict[str, Any], file: str) -> None:
    """Refuse tables and arrays nested deeper than the limit (walked without recursion)."""
    pending: list[tuple[Any, int, str]] = [(data, 0, "")]
    while pending:
        value, depth, key = pending.pop()
        if depth > DEFINITION_DEPTH_LIMIT:
            raise _too_deep(file, key)
        if isinstance(value, dict):
            pending.extend((item, depth + 1, join(key, name)) for name, item in value.items())
        elif isinstance(value, list):
            pending.extend((item, depth + 1, f"{key}[{i}]") for i, item in enumerate(value))


def _too_deep(file: str, key: str) -> DefinitionError:
    limit = DEFINITION_DEPTH_LIMIT
    return DefinitionError(
        file=file,
        key=key,
        problem=Label(
            f"tables and arrays are nested more than {limit} levels deep",
            f"テーブルと配列が {limit} 段を超えてネストしています",
        ),
    )


def join(prefix: str, name: str) -> str:
    """Return the dotted key ``prefix.name`` (``name`` at the top)."""
    return f"{prefix}.{name}" if prefix else name
