"""Reading one reference data file: JSON records with the line each record and field is on.

In:  the text of a JSON document `{"<key>": [record, ...], ...}` and its path.
Out: `Record`s, each able to parse its fields; every problem is a ReferenceDataError naming
     the file, the line and the field (json.loads says where a syntax error is, but not where
     a parsed value came from, so the document is walked once more with raw_decode to keep
     each record's offsets).
Pure functions, no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from stocksdb.errors import ReferenceDataError

T = TypeVar("T")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip(text: str, i: int) -> int:
    match = _WS.match(text, i)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def line_of(text: str, offset: int) -> int:
    """The 1-based line of a character offset."""
    return text.count("\n", 0, offset) + 1


def _members(text: str) -> dict[str, int]:
    """Offsets of the values of a top-level object's members (the text is valid JSON)."""
    out: dict[str, int] = {}
    i = _skip(text, _skip(text, 0) + 1)          # past '{'
    while text[i] != "}":
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, _skip(text, i) + 1)      # past ':'
        out[key] = i
        _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
    return out


def _elements(text: str, i: int) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of the elements of the array starting at offset `i`."""
    i = _skip(text, i + 1)                       # past '['
    while text[i] != "]":
        _, end = _DECODER.raw_decode(text, i)
        yield i, end
        i = _skip(text, end)
        if text[i] == ",":
            i = _skip(text, i + 1)


@dataclass(frozen=True)
class Document:
    """A parsed reference file and its text, for locating values."""

    path: Path
    text: str
    data: dict[str, Any]

    def fail(self, problem: str, *, offset: int | None = None,
             field: str | None = None) -> ReferenceDataError:
        """The error for a problem at `offset` (None: the file as a whole)."""
        line = None if offset is None else line_of(self.text, offset)
        return ReferenceDataError(problem, path=self.path, line=line, field=field)

    def header(self, field: str, parse: Callable[[Any], T]) -> T:
        """A top-level member, parsed.

        Raises:
            ReferenceDataError: the member is missing or `parse` refuses it.
        """
        if field not in self.data:
            raise self.fail(f"the document has no member {field!r}", offset=0, field=field)
        try:
            return parse(self.data[field])
        except (ValueError, TypeError) as exc:
            raise self.fail(str(exc), offset=_members(self.text)[field], field=field) from None

    def records(self, key: str) -> list[Record]:
        """The objects of the top-level array `key`.

        Raises:
            ReferenceDataError: `key` is missing or not an array of objects.
        """
        values = self.header(key, _array)
        spans = list(_elements(self.text, _members(self.text)[key]))
        out = []
        for value, (start, end) in zip(values, spans, strict=True):
            if not isinstance(value, dict):
                raise self.fail(f"expected an object, got {value!r}", offset=start, field=key)
            out.append(Record(self, value, start, end))
        return out


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected an array, got {type(value).__name__}")
    return value


def read_document(path: Path, raw: bytes) -> Document:
    """The JSON document in `raw` (the bytes of `path`).

    Raises:
        ReferenceDataError: not UTF-8, not JSON, or not a JSON object.
    """
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                                 path=path, line=None, field=None) from None
    except json.JSONDecodeError as exc:
        raise ReferenceDataError(f"not valid JSON: {exc.msg} (column {exc.colno}); fix the "
                                 "syntax", path=path, line=exc.lineno, field=None) from None
    if not isinstance(data, dict):
        raise ReferenceDataError(f"expected a JSON object, got {type(data).__name__}",
                                 path=path, line=1, field=None)
    return Document(path, text, data)


@dataclass(frozen=True)
class Record:
    """One object of a reference file, with its offsets in the text."""

    doc: Document
    value: dict[str, Any]
    start: int
    end: int

    def _offset(self, field: str) -> int:
        at = self.doc.text.find(json.dumps(field), self.start, self.end)
        return self.start if at < 0 else at

    def fail(self, problem: str, field: str | None = None) -> ReferenceDataError:
        """The error for a problem with `field` of this record (its line, or the record's)."""
        return self.doc.fail(problem, offset=self._offset(field) if field else self.start,
                             field=field)

    def only(self, allowed: frozenset[str]) -> None:
        """Refuse a member not in `allowed` (a typo would otherwise be silently ignored)."""
        for name in self.value:
            if name not in allowed:
                raise self.fail(f"unknown field; expected one of {sorted(allowed)}", name)

    def get(self, field: str, parse: Callable[[Any], T], *, default: T | None = None,
            required: bool = False) -> T | None:
        """`field` parsed, `default` when absent or null.

        Raises:
            ReferenceDataError: a required field is missing, or `parse` refuses the value.
        """
        value = self.value.get(field)
        if value is None:
            if required:
                raise self.fail("required field is missing", field)
            return default
        try:
            return parse(value)
        except (ValueError, TypeError) as exc:
            raise self.fail(str(exc), field) from None

    def need(self, field: str, parse: Callable[[Any], T]) -> T:
        """A required field, parsed (see get)."""
        value = self.get(field, parse, required=True)
        assert value is not None
        return value
