"""Finding and loading Sigma rule files.

A rule file is read once into plain data with line positions (see yaml_source). Because
pySigma pipelines change a rule in place, every consumer asks a LoadedRule for a fresh
pySigma object (``parse()``) instead of sharing one.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Iterable, Iterator

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConditionError, SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from sigmakit.errors import Location, MetadataError, RuleError, UsageError
from sigmakit.rules.metadata import METADATA_KEY, EsMetadata, parse_metadata
from sigmakit.rules.yaml_source import YamlPositions, load_yaml_documents

logger = logging.getLogger(__name__)

# Exceptions pySigma lets escape on malformed input instead of raising a SigmaError.
_PYSIGMA_CRASHES: Final = (TypeError, AttributeError, ValueError, KeyError, IndexError, RecursionError)

RULE_SUFFIXES: Final = (".yml", ".yaml")
# Real Sigma rules are a few kilobytes (the largest of SigmaHQ's 3,000 is under 100 KB); a
# file far beyond that is a mistake or an attack on the parser, and is refused up front.
MAX_RULE_FILE_BYTES: Final = 1024 * 1024
# Files kept beside rules that are not rules themselves: rule tests.
TEST_FILE_SUFFIXES: Final = (".tests.yml", ".tests.yaml")


def is_test_file(path: Path) -> bool:
    return path.name.lower().endswith(TEST_FILE_SUFFIXES)


def is_rule_file(path: Path) -> bool:
    return path.suffix.lower() in RULE_SUFFIXES and not is_test_file(path)


def test_file_for(rule_path: Path) -> Path | None:
    """The rule-test file beside *rule_path* (``<stem>.tests.yml``), if there is one."""
    for suffix in TEST_FILE_SUFFIXES:
        candidate = rule_path.with_name(rule_path.stem + suffix)
        if candidate.is_file():
            return candidate
    return None


test_file_for.__test__ = False  # type: ignore[attr-defined]  # a helper, not a pytest test


def detection_name(title: str) -> str:
    """Splunk-style detection name: the title in lower case, other characters as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


@dataclass
class LoadedRule:
    """One Sigma rule or correlation document, ready to be parsed afresh on demand."""

    path: Path
    document_index: int
    data: dict[str, Any]
    positions: YamlPositions
    metadata: EsMetadata | None = None
    # What validate() parsed, handed to the next parse() (parsing is a good part of the
    # cost of loading a thousand rules; validating and compiling need it once each).
    _validated: SigmaRule | SigmaCorrelationRule | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return None if value is None else str(value)

    @property
    def name(self) -> str | None:
        value = self.data.get("name")
        return None if value is None else str(value)

    @property
    def title(self) -> str:
        return str(self.data.get("title") or self.path.stem)

    @property
    def is_correlation(self) -> bool:
        return "correlation" in self.data

    @property
    def detection_name(self) -> str:
        return detection_name(self.title)

    @property
    def filter_macro(self) -> str:
        return f"{self.detection_name}_filter"

    @property
    def location(self) -> Location:
        return Location.of(self.path, self.positions.document_line)

    def parse(self) -> SigmaRule | SigmaCorrelationRule:
        """A new pySigma object for this document (the caller's own: pipelines change
        it); raises RuleError with file and line."""
        if self._validated is not None:
            parsed, self._validated = self._validated, None
            return parsed
        data = copy.deepcopy(self.data)
        source = SigmaRuleLocation(self.path)
        try:
            if self.is_correlation:
                return SigmaCorrelationRule.from_dict(data, source=source)
            return SigmaRule.from_dict(data, source=source)
        except SigmaError as error:
            raise self.error_from_pysigma(error) from None
        except _PYSIGMA_CRASHES as error:
            # pySigma assumes well-typed input in places (an integer id, say); a hostile or
            # careless rule must still end as an error about the rule, not a traceback.
            raise RuleError(
                f"not a valid Sigma rule ({type(error).__name__}: {error})",
                location=self.locate(str(error)), rule_id=self.id,
            ) from None

    def validate(self) -> None:
        """Parse the rule and its conditions (pySigma parses conditions only when converting)."""
        parsed = self.parse()
        if isinstance(parsed, SigmaRule):
            for condition in parsed.detection.parsed_condition:
                self._refuse_names_read_as_not(condition.condition, parsed.detection.detections)
            try:
                for condition in parsed.detection.parsed_condition:
                    condition.parse()
            except SigmaError as error:
                raise self.error_from_pysigma(error) from None
            except RecursionError:
                raise RuleError("the condition is nested too deeply to parse",
                                location=self.locate("'condition'"), rule_id=self.id) from None
        self._validated = parsed

    def _refuse_names_read_as_not(self, condition: str, names: Iterable[str]) -> None:
        """pySigma's condition grammar takes a leading 'not' of an identifier for the
        operator: 'sel and notepad' is read as 'sel and not epad', an error at best and,
        with a selection named 'epad', silently the opposite test."""
        tokens = re.findall(r"[\w*-]+", condition)
        operands = {token for before, token in zip(["", *tokens], tokens) if before != "of"}
        for name in names:
            if len(name) > 3 and name.startswith("not") and name in operands:
                raise RuleError(f"selection {name!r} starts with 'not', which pySigma's condition parser reads as "
                                f"'not {name[3:]}'; rename the selection",
                                location=Location.of(self.path, self._condition_line()), rule_id=self.id)

    def _condition_line(self) -> int | None:
        """The line of the rule's condition (or of its first item, for a list)."""
        return self.positions.find_key(lambda path: path[-1:] == ("condition",) or path[-2:-1] == ("condition",))

    def error_from_pysigma(self, error: SigmaError) -> RuleError:
        """Turn a pySigma error (which has no line) into a RuleError with the best line known."""
        message = str(error.args[0]) if error.args else str(error)
        if isinstance(error, SigmaConditionError):
            line = self._condition_line()
            if line is not None:
                return RuleError(message, location=Location.of(self.path, line), rule_id=self.id)
        return RuleError(message, location=self.locate(message), rule_id=self.id)

    def locate(self, message: str) -> Location:
        """Guess the line a pySigma message is about from the names it quotes."""
        quoted = re.findall(r"'([^']+)'", message)
        for name in quoted:
            line = self.positions.find_key(
                lambda path, name=name: bool(path) and (
                    str(path[-1]) == name or str(path[-1]).split("|")[0] == name
                    or name in str(path[-1]).split("|")[1:]
                )
            )
            if line is None:
                line = self.positions.value_lines.get(name)
            if line is not None:
                return Location.of(self.path, line)
        for section in ("timespan", "group-by", "condition", "detection", "logsource", "correlation", "tags",
                        "date", "modified", "status", "level", "id", "title", "falsepositives", "references",
                        "fields"):
            if re.search(rf"\b{section}\b", message, re.IGNORECASE):
                line = self.positions.find_key(lambda path, s=section: path[-1:] == (s,))
                if line is not None:
                    return Location.of(self.path, line)
        return self.location


@dataclass
class RuleSet:
    """Rules loaded from files and folders, plus the files that could not be loaded."""

    rules: list[LoadedRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    def __iter__(self) -> Iterator[LoadedRule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def collection(self) -> SigmaCollection:
        """A fresh pySigma collection of every parsable rule (correlations resolved)."""
        parsed = []
        for rule in self.rules:
            try:
                parsed.append(rule.parse())
            except RuleError:
                continue
        return SigmaCollection(parsed)


def find_rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """Rule files named by *paths*, folders walked recursively, in a stable order.

    Raises UsageError for a path that does not exist.
    """
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_rule_file(p)))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return found


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_rule_text(text: str, path: str | Path = "<text>") -> RuleSet:
    """Load every rule document of one YAML text (a file's content or a string)."""
    rule_path = Path(path)
    result = RuleSet()
    if len(text) > MAX_RULE_FILE_BYTES:
        result.errors.append(_too_large(rule_path, len(text)))
        return result
    try:
        documents = load_yaml_documents(text, rule_path)
    except RuleError as error:
        result.errors.append(error)
        return result
    if not any(document.data is not None for document in documents):
        result.errors.append(RuleError("the file holds no rule", location=Location.of(rule_path, 1)))
        return result
    global_part: dict[str, Any] = {}
    for index, document in enumerate(documents):
        data = document.data
        if data is None:
            continue
        if not isinstance(data, dict):
            result.errors.append(RuleError(
                "a rule document must be a YAML map",
                location=Location.of(rule_path, document.positions.document_line),
            ))
            continue
        action = data.get("action")
        if action == "global":
            global_part = {k: v for k, v in data.items() if k != "action"}
            continue
        if action == "reset":
            global_part = {}
            continue
        if action is not None:
            result.errors.append(RuleError(
                f"unknown collection action {action!r}",
                location=Location.of(rule_path, document.positions.line_of(("action",))),
            ))
            continue
        if global_part and "correlation" not in data:
            data = _merge(global_part, data)
        rule = LoadedRule(rule_path, index, data, document.positions)
        try:
            rule.metadata = _metadata_of(rule)
            rule.validate()
        except RuleError as error:
            result.errors.append(error)
            continue
        result.rules.append(rule)
    return result


def _metadata_of(rule: LoadedRule) -> EsMetadata | None:
    raw = rule.data.get(METADATA_KEY)
    if raw is None:
        return None
    try:
        metadata = parse_metadata(raw, rule.positions, str(rule.path))
    except MetadataError as error:
        error.rule_id = rule.id
        raise
    detection = rule.data.get("detection")
    selections = set(detection) - {"condition"} if isinstance(detection, dict) else set()
    for macro, selection in metadata.macros.items():
        if selection not in selections:
            line = rule.positions.line_of((METADATA_KEY, "macros", macro))
            raise MetadataError(
                f"{METADATA_KEY}.macros.{macro}: the rule has no selection named {selection!r}",
                location=Location.of(rule.path, line), rule_id=rule.id,
            )
    return metadata


def _too_large(path: Path, size: int) -> RuleError:
    return RuleError(
        f"rule file is {size / 1024 / 1024:.1f} MiB; sigmakit refuses rule files over "
        f"{MAX_RULE_FILE_BYTES // 1024 // 1024} MiB (Sigma rules are a few kilobytes)",
        location=Location.of(path, 1),
    )


def load_rule_file(path: str | Path) -> RuleSet:
    """Load every rule document of one file; unreadable files become errors, not exceptions."""
    rule_path = Path(path)
    try:
        size = rule_path.stat().st_size
        if size > MAX_RULE_FILE_BYTES:
            return RuleSet(errors=[_too_large(rule_path, size)])
        text = rule_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = error.object[:error.start].count(b"\n") + 1
        return RuleSet(errors=[RuleError(f"not UTF-8 text ({error.reason} at byte {error.start})",
                                         location=Location.of(rule_path, line))])
    except OSError as error:
        return RuleSet(errors=[RuleError(f"cannot read: {error.strerror}", location=Location.of(rule_path))])
    return load_rule_text(text, rule_path)


def load_rules(paths: Iterable[str | Path]) -> RuleSet:
    """Load all rules under *paths* (files or folders), collecting every broken file."""
    result = RuleSet()
    for path in find_rule_files(paths):
        loaded = load_rule_file(path)
        result.rules.extend(loaded.rules)
        result.errors.extend(loaded.errors)
    logger.debug("loaded %d rules, %d errors", len(result.rules), len(result.errors))
    return result
