"""YAML loading that remembers line numbers.

pydantic reports *which* field is wrong; people also need *where* it is. PyYAML's
node tree carries marks, so we compose once and keep a map from each key path to
its line, then build plain Python data from the same nodes.

Manifests come from strangers too, so loading is bounded before anything is
expanded: the event stream is scanned first for size, nesting depth, alias count,
complex keys and over-long numbers, and the composed graph is weighed (aliases
counted as many times as they expand) and checked for cycles before it is built
into Python objects. A "billion laughs" file or a recursive alias is a clean
ManifestError instead of a hang or a RecursionError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

import facedata.files.confine as confine
from facedata.errors import ManifestError, UnsafePathError

Loc = tuple[str | int, ...]

MAX_TEXT = 4 * 1024 * 1024  # bytes of YAML
MAX_DEPTH = 64  # nested collections
MAX_ALIASES = 256
MAX_NODES = 200_000  # after expanding every alias
MAX_NUMBER = 100  # characters of a plain scalar that resolves to an int or float


# libyaml's parser when PyYAML was built with it: same events, nodes and marks, and
# loading the catalog's manifests is the longest step before a build starts
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LimitError(ManifestError):
    """A YAML file over a loading limit; its message already names file and line."""


def _limit(path: Path, where: yaml.Mark | None, problem: str) -> ManifestError:
    loc = f"{path}:{where.line + 1}" if where is not None else str(path)
    return _LimitError(
        f"{loc}: {problem}",
        hint="manifests are small, plain YAML: no deep nesting, few anchors, scalar keys",
    )


def _scan_events(path: Path, text: str) -> None:
    """Depth, alias count and number sizes, judged on the event stream (no recursion)."""
    depth = aliases = 0
    resolver = yaml.resolver.Resolver()
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _limit(path, event.start_mark, f"nested over {MAX_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _limit(path, event.start_mark, f"over {MAX_ALIASES} aliases")
        elif isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_NUMBER:
            tag = event.tag or resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            if tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
                raise _limit(
                    path, event.start_mark, f"a number {len(event.value):,} characters long"
                )


def _weigh(path: Path, root: yaml.Node) -> None:
    """Count nodes as construction would expand them; refuse cycles and complex keys."""
    weight: dict[int, int] = {}
    active: set[int] = set()
    # iterative post-order walk: (node, children pushed?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            kids = _children(node)
            total = 1 + sum(weight[id(k)] for k in kids)
            if total > MAX_NODES:
                raise _limit(path, node.start_mark, f"expands to over {MAX_NODES:,} values")
            weight[key] = total
            continue
        if key in weight:
            continue
        if key in active:
            raise _limit(path, node.start_mark, "an alias refers to itself (recursive)")
        active.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise _limit(path, k.start_mark, "a mapping key must be a plain value")
        for kid in _children(node):
            if id(kid) in active:
                raise _limit(path, kid.start_mark, "an alias refers to itself (recursive)")
            if id(kid) not in weight:
                stack.append((kid, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A SafeLoader that refuses duplicate mapping keys (YAML silently keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ManifestError(
                    f"duplicate key {key!r} at line {key_node.start_mark.line + 1} "
                    f"(first at line {seen[key]})",
                    hint="each key may appear once per mapping; remove or merge one of them",
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """`2027-02-30` looks like a date to YAML but is none: say where, not a traceback."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise ManifestError(
                f"line {node.start_mark.line + 1}: {node.value!r} is not a real date ({exc})",
                hint="write an existing calendar date as YYYY-MM-DD",
            ) from None


_UniqueKeyLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp
)


def _line_map(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*loc, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*loc, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*loc, i), out)


class YamlDoc:
    """Parsed YAML data plus the line of every key path in it."""

    def __init__(self, path: Path, data: Any, lines: dict[Loc, int]) -> None:
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest known prefix of `loc` (pydantic locs can go deeper)."""
        loc = tuple(str(p) if not isinstance(p, int) else p for p in loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())

    def where(self, loc: Loc) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _read_text(path: Path) -> str:
    """The file's text, read only from a regular file and never past the size limit.

    A manifest folder, a recipe or a clearances path can hold a FIFO (the read would
    wait forever) or a link to /dev/zero (it would never end), so the file is opened
    the way every other stranger's file is (`confine.open_regular`) and read bounded.
    """
    p = Path(path)
    if p.is_dir():
        raise ManifestError(
            f"{path} is a folder, not a YAML file", hint="pass the .yaml file itself"
        )
    if not p.exists():
        raise ManifestError(f"{path}: no such file", hint="check the path")
    try:
        with confine.open_regular(None, p) as fh:
            raw = fh.read(MAX_TEXT + 1)
    except UnsafePathError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None
    except OSError as exc:
        raise ManifestError(
            f"cannot read {path}: {exc.strerror or exc}", hint="check the path and its permissions"
        ) from None
    if len(raw) > MAX_TEXT:
        limit = _limit(p, None, f"over the limit of {MAX_TEXT:,} bytes")
        raise ManifestError(limit.message, hint=limit.hint)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{path}: not UTF-8 text ({exc.reason})",
            hint="this does not look like a YAML file: check the path, or save it as UTF-8",
        ) from None


def load_yaml(path: Path) -> YamlDoc:
    """Read a YAML file; every failure is a ManifestError naming file and line."""
    text = _read_text(path)
    try:
        _scan_events(Path(path), text)
        loader = _UniqueKeyLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _weigh(Path(path), node)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except _LimitError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None
    except ManifestError as exc:
        msg = exc.message
        if msg.startswith("line "):  # file:line, as every other location is written
            line, _, rest = msg[5:].partition(": ")
            raise ManifestError(f"{path}:{line}: {rest}", hint=exc.hint) from None
        raise ManifestError(f"{path}: {msg}", hint=exc.hint) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in problem:  # libyaml's own depth limit can come first
            deep = _limit(Path(path), mark, f"nested over {MAX_DEPTH} levels deep")
            raise ManifestError(deep.message, hint=deep.hint) from None
        raise ManifestError(
            f"{where}: YAML syntax error: {problem}",
            hint="check indentation and quoting near that line",
        ) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return YamlDoc(Path(path), data, lines)


def describe_validation_error(doc: YamlDoc, exc: ValidationError, what: str) -> ManifestError:
    """Turn pydantic's report into one message that names file, line, field and expectation."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = tuple(err.get("loc", ()))
        field = ".".join(str(p) for p in loc) or "(top level)"
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (check its spelling and indentation)"
        parts.append(f"{doc.where(loc)}: {field}: {msg}")
    first = parts[0]
    more = "" if len(parts) == 1 else "\n" + "\n".join(parts[1:])
    return ManifestError(
        f"invalid {what}: {first}{more}",
        hint="fix the fields at the lines named above, then run the command again",
    )
