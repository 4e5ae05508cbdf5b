"""Reading JSON and JSONL files with errors that name the file, the line and the field. Kept apart
from the sample schema (`videofocus.schema`, pydantic) so that the light modules, which the command
line imports when it starts, can read files too."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from videofocus.errors import DataError


def decode_jsonl_line(text: str, *, path: str | os.PathLike, line: int) -> dict:
    """One JSONL line as a JSON object; DataError (naming path and line) when it is not one, or when
    it holds what Python's json reads but nothing downstream can use: nesting deeper than Python's
    recursion limit, an integer of more digits than Python converts, a lone UTF-16 surrogate (a
    `\\ud800` escape, which cannot be written back as UTF-8)."""
    try:  # without its newline, an error at the end of a cut-off line is not "line 2, column 1"
        record = json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno})", path=str(path), line=line) from None
    except RecursionError:
        raise DataError("not usable JSON (nested too deeply)", path=str(path), line=line) from None
    except ValueError:   # int() refuses a number this long
        raise DataError(f"not usable JSON (a number of more than {sys.get_int_max_str_digits()} digits)",
                        path=str(path), line=line) from None
    if not isinstance(record, dict):
        raise DataError("each line must be a JSON object", path=str(path), line=line)
    field = _field_with_lone_surrogate(record)
    if field is not None:
        raise DataError("a string holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is no character",
                        path=str(path), line=line, field=field)
    return record


def _field_with_lone_surrogate(record: dict) -> str | None:
    """The dotted path of the first key or string value of `record` that UTF-8 cannot encode, or None.
    Walked without recursion: the record may be nested nearly as deep as the recursion limit."""
    pending: list[tuple[str, object]] = [("", record)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return where or "<record>"
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{where}.{key}" if where else str(key)
                pending.extend([(inner, key), (inner, item)])
        elif isinstance(value, list):
            pending.extend((f"{where}.{index}", item) for index, item in enumerate(value))
    return None


def read_json(path: str | os.PathLike) -> object:
    """A whole JSON document; DataError naming the file, and the line and column where it is broken."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        hint = "; one JSON object a line is JSONL: name the file .jsonl" if exc.msg == "Extra data" else ""
        raise DataError(f"not valid JSON ({exc.msg} at column {exc.colno}){hint}", path=str(path),
                        line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason})", path=str(path)) from None
    except RecursionError:
        raise DataError("not usable JSON (nested too deeply)", path=str(path)) from None
    except ValueError:   # int() refuses a number this long
        raise DataError("not usable JSON (a number with too many digits)", path=str(path)) from None


def read_json_object(path: str | os.PathLike, *, expected: str = "a JSON object") -> dict:
    """A JSON document that must be an object; DataError otherwise (see `read_json`)."""
    document = read_json(path)
    if not isinstance(document, dict):
        raise DataError(f"expected {expected}, got a JSON {type(document).__name__}", path=str(path))
    return document


def iter_nonblank_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """(line number, text) for each non-blank line of a UTF-8 text file; DataError if it is missing
    or a line is not UTF-8 (naming that line: each line is decoded on its own)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)", path=str(path),
                                line=number) from None
            if text.strip():
                yield number, text


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; DataError on a line that is not a JSON object."""
    for number, text in iter_nonblank_lines(path):
        yield number, decode_jsonl_line(text, path=path, line=number)
