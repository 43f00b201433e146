"""YAML reading that keeps what pySigma drops: line numbers and duplicate keys.

pySigma builds rules from plain dicts, so its errors carry no line, and its collection
loader silently keeps the last of two equal keys. sigmakit parses the YAML itself with a
safe loader that refuses duplicate keys and records the line of every mapping key, so
errors about a rule can point at the line that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sigmakit.errors import Location, RuleError

KeyPath = tuple[str | int, ...]


@dataclass
class YamlPositions:
    """1-based line of every mapping key and sequence item, by its path in the document."""

    document_line: int
    lines: dict[KeyPath, int] = field(default_factory=dict)
    # Line of the first occurrence of each scalar value, to place errors about a value.
    value_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int:
        """Line of the deepest known prefix of *path* (the document start if none)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return self.document_line

    def find_key(self, predicate: Any) -> int | None:
        """Line of the first key path for which predicate(path) is true, in file order."""
        for path, line in sorted(self.lines.items(), key=lambda item: item[1]):
            if predicate(path):
                return line
        return None


@dataclass
class YamlDocument:
    """One YAML document of a file, its data and the lines of its keys."""

    data: Any
    positions: YamlPositions


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: fast on big files


class _StrictSafeLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that refuses a key repeated in one mapping."""

    source_path: str | None = None
    _sigmakit_line: int | None = None

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        self._sigmakit_line = node.start_mark.line + 1
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise RuleError(
                    f"unhashable mapping key {key!r}",
                    location=Location.of(self.source_path, key_node.start_mark.line + 1),
                ) from None
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise RuleError(
                    f"duplicate key {key!r} (first defined on line {first_line[key]}); "
                    "YAML keys must be unique, use a second modifier or selection instead",
                    location=Location.of(self.source_path, line),
                )
            first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _record_positions(node: Node, path: KeyPath, positions: YamlPositions) -> None:
    if isinstance(node, ScalarNode):
        positions.value_lines.setdefault(str(node.value), node.start_mark.line + 1)
    elif isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else str(key_node)
            child = (*path, key)
            positions.lines.setdefault(child, key_node.start_mark.line + 1)
            _record_positions(value_node, child, positions)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            positions.lines.setdefault(child, item.start_mark.line + 1)
            _record_positions(item, child, positions)


def load_yaml_documents(text: str, path: str | Path | None = None) -> list[YamlDocument]:
    """Parse every document of *text*, refusing duplicate keys, with key line numbers.

    Raises RuleError naming the file and line for any YAML syntax error.
    """
    loader = _StrictSafeLoader(text)
    loader.source_path = None if path is None else str(path)
    documents: list[YamlDocument] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            positions = YamlPositions(document_line=node.start_mark.line + 1)
            _record_positions(node, (), positions)
            data = loader.construct_document(node)
            documents.append(YamlDocument(data=data, positions=positions))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = None if mark is None else mark.line + 1
        problem = error.problem or error.context or "invalid YAML"
        raise RuleError(f"invalid YAML: {problem}", location=Location.of(path, line)) from None
    except yaml.YAMLError as error:
        raise RuleError(f"invalid YAML: {error}", location=Location.of(path)) from None
    except RecursionError:
        raise RuleError("invalid YAML: nested too deeply", location=Location.of(path)) from None
    except ValueError as error:
        # PyYAML's implicit types raise plain ValueErrors (a date like 2024-99-99).
        line = getattr(loader, "_sigmakit_line", None)
        raise RuleError(f"invalid YAML value: {error}", location=Location.of(path, line)) from None
    finally:
        loader.dispose()
    return documents
