"""The shared cases of ``cases/`` (format: ``cases/README.md``), read with the same strictness
and matched by the same rules as the Rust runner (``core/tests/case_runner/mod.rs``): unknown
keys, missing expectations, repeated names and empty folders are failures, and every failure
of every file is reported at once."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def compact(value: Any) -> bytes:
    """A JSON value sent as its compact serialization (as serde_json writes it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def forms(key: str) -> list[str]:
    return [key, key + "Text", key + "File"]


def resolve(obj: dict[str, Any], key: str) -> bytes | None:
    """``X`` (a JSON value, sent compact), ``XText`` (exact text) or ``XFile`` (exact bytes of
    a file under the repository root); more than one is an error."""
    plain, text, file = forms(key)
    given = [k for k in (plain, text, file) if k in obj]
    if len(given) > 1:
        raise CaseError(f"give only one of {given}")
    if plain in obj:
        return compact(obj[plain])
    if text in obj:
        if not isinstance(obj[text], str):
            raise CaseError(f"`{text}` must be a string, not {show(obj[text])}")
        return obj[text].encode()
    if file in obj:
        if not isinstance(obj[file], str):
            raise CaseError(f"`{file}` must be a path string, not {show(obj[file])}")
        try:
            return (ROOT / obj[file]).read_bytes()
        except OSError as e:
            raise CaseError(f"`{file}`: cannot read {obj[file]}: {e}") from e
    return None


class CaseError(Exception):
    """A case that cannot be run (a bad file, not a wrong answer)."""


def show(v: Any) -> str:
    s = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    return s if len(s) <= 600 else f"{s[:600]}… ({len(s)} bytes)"


@dataclass
class Mismatch:
    path: str
    expected: str
    actual: str


_ABSENT = object()


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num_eq(a: Any, b: Any) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return float(a) == float(b) and not math.isnan(float(a))


def _push_key(path: str, k: str) -> str:
    plain = bool(k) and (k[0].isascii() and (k[0].isalpha() or k[0] == "_")) and all(
        c.isascii() and (c.isalnum() or c == "_") for c in k
    )
    return f"{path}.{k}" if plain else f"{path}[{json.dumps(k, ensure_ascii=False)}]"


def matches(expected: Any, actual: Any) -> Mismatch | None:
    """The first difference of ``actual`` from ``expected`` (``cases/README.md``)."""
    return _match_at(expected, actual, "$")


def _match_at(expected: Any, actual: Any, path: str) -> Mismatch | None:
    if actual is _ABSENT:
        return None if expected is None else Mismatch(path, show(expected), "(absent)")
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k, v in expected.items():
            p = _push_key(path, k)
            if k.endswith("Json") and k != "Json":
                m = _match_json_text(v, actual.get(k[:-4], _ABSENT), p)
            else:
                m = _match_at(v, actual.get(k, _ABSENT), p)
            if m:
                return m
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return Mismatch(
                path,
                f"{len(expected)} elements: {show(expected)}",
                f"{len(actual)} elements: {show(actual)}",
            )
        for i, (e, a) in enumerate(zip(expected, actual)):
            m = _match_at(e, a, f"{path}[{i}]")
            if m:
                return m
        return None
    if _is_number(expected) and _is_number(actual):
        return None if _num_eq(expected, actual) else Mismatch(path, show(expected), show(actual))
    if not _is_number(expected) and type(expected) is type(actual) and expected == actual:
        return None
    if expected is None and actual is None:
        return None
    return Mismatch(path, show(expected), show(actual))


def _match_json_text(expected: Any, actual: Any, path: str) -> Mismatch | None:
    if actual is _ABSENT or actual is None:
        return _match_at(expected, actual, path)
    if isinstance(actual, str):
        try:
            parsed = json.loads(actual)
        except ValueError as e:
            return Mismatch(path, f"JSON text encoding {show(expected)}", f"text that is not JSON ({e}): {show(actual)}")
        return _match_at(expected, parsed, path)
    return Mismatch(path, f"JSON text encoding {show(expected)}", show(actual))


@dataclass
class Failures:
    items: list[str] = field(default_factory=list)

    def add(self, file: str, case: str | None, what: str) -> None:
        self.items.append(f"{file}: case `{case}`: {what}" if case is not None else f"{file}: {what}")

    def finish(self, folder: str) -> None:
        if self.items:
            out = f"{len(self.items)} failure(s) in cases/{folder}:\n"
            raise AssertionError(out + "".join(f"\n- {f}\n" for f in self.items))


@dataclass
class CaseFile:
    path: str
    doc: dict[str, Any]


def load(folder: str, failures: Failures) -> list[CaseFile]:
    """``cases/<folder>/*.json``, sorted; an empty or missing folder is a failure."""
    d = ROOT / "cases" / folder
    shown = f"cases/{folder}"
    if not d.is_dir():
        failures.add(shown, None, "cannot list the folder")
        return []
    paths = sorted(p for p in d.iterdir() if p.suffix == ".json" and p.is_file())
    if not paths:
        failures.add(shown, None, "no case files (*.json) in the folder")
    files = []
    for p in paths:
        path = f"{shown}/{p.name}"
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            failures.add(path, None, f"not JSON: {e}")
            continue
        if not isinstance(doc, dict):
            failures.add(path, None, f"not a JSON object: {show(doc)}")
            continue
        files.append(CaseFile(path, doc))
    return files


@dataclass
class Spec:
    folder: str
    file_inputs: list[str]
    case_inputs: list[str]
    case_keys: list[str]
    expects: list[str]


@dataclass
class Case:
    file: CaseFile
    name: str
    obj: dict[str, Any]
    expect_key: str

    def input(self, key: str) -> bytes | None:
        own = resolve(self.obj, key)
        return own if own is not None else resolve(self.file.doc, key)

    def input_text(self, key: str) -> str | None:
        b = self.input(key)
        if b is None:
            return None
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CaseError(f"`{key}` is not UTF-8") from e

    def gives(self, key: str) -> bool:
        return any(k in self.obj for k in forms(key))

    def str(self, key: str) -> str | None:
        v = self.obj.get(key)
        if v is None and key not in self.obj:
            return None
        if not isinstance(v, str):
            raise CaseError(f"`{key}` must be a string, not {show(v)}")
        return v


def run(spec: Spec, judge: Callable[[Case], Any]) -> int:
    """Runs every case of ``spec.folder`` through ``judge`` and matches its answer; raises
    with every failure at the end. Returns how many cases ran."""
    failures = Failures()
    files = load(spec.folder, failures)
    file_keys = {"description", "cases", *(k for i in spec.file_inputs for k in forms(i))}
    case_keys = {"name", *spec.case_keys, *spec.expects, *(k for i in spec.case_inputs for k in forms(i))}
    count = 0
    for file in files:
        bad = [k for k in file.doc if k not in file_keys]
        if bad:
            failures.add(file.path, None, f"unknown top-level keys {bad}")
            continue
        if not isinstance(file.doc.get("description"), str):
            failures.add(file.path, None, "no `description` string")
        cases = file.doc.get("cases")
        if not isinstance(cases, list) or not cases:
            failures.add(file.path, None, "`cases` must be a non-empty array")
            continue
        names: set[str] = set()
        for i, obj in enumerate(cases):
            if not isinstance(obj, dict):
                failures.add(file.path, None, f"cases[{i}] is not an object")
                continue
            name = obj.get("name")
            if not isinstance(name, str):
                failures.add(file.path, None, f"cases[{i}] has no `name` string")
                continue
            if name in names:
                failures.add(file.path, name, "the name is used twice in the file")
            names.add(name)
            bad = [k for k in obj if k not in case_keys]
            if bad:
                failures.add(file.path, name, f"unknown keys {bad}")
                continue
            given = [k for k in spec.expects if k in obj]
            if len(given) != 1:
                failures.add(file.path, name, f"needs exactly one of {spec.expects}, has {given}")
                continue
            case = Case(file, name, obj, given[0])
            count += 1
            try:
                actual = judge(case)
            except CaseError as e:
                failures.add(file.path, name, f"cannot run: {e}")
                continue
            m = matches(obj[given[0]], actual)
            if m:
                failures.add(
                    file.path,
                    name,
                    f"`{given[0]}` at {m.path}: expected {m.expected}, got {m.actual}\n  answer: {show(actual)}",
                )
    print(f"cases/{spec.folder}: {count} cases in {len(files)} files")
    failures.finish(spec.folder)
    return count
