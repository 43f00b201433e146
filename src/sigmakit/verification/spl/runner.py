"""Running a parsed search over records, and what comes out: a verdict per record.

Records are mappings from field name to value, as sigmakit's readers produce them (raw
events with ``_raw``, ``source``, ``sourcetype``, ``EventCode``...; or CIM records with
``Processes.<field>`` names for ``tstats``). Every result row remembers which records it
came from, so the outcome is per record: *matched* when a row built from it reaches the
end of the pipeline, *undecided* (with the reason) when the evaluator could not judge a
row built from it and no other row of it survived, otherwise not matched.

``tstats`` groups the records that pass its ``WHERE`` clause by its by-fields and keeps
only those fields and the statistics, as Splunk does: a later command sees nothing
else. A record with a null by-field is dropped unless ``fillnull_value`` is set, which
then stands in for the null. ``summariesonly`` and ``allow_old_summaries`` choose which
summaries Splunk reads; locally every record counts as summarised.
"""

from __future__ import annotations

import datetime
import itertools
import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Sequence

from sigmakit.verification.spl.commands import (
    Command,
    ConvertCommand,
    EvalCommand,
    FieldsCommand,
    MultisearchCommand,
    MvexpandCommand,
    Query,
    RegexCommand,
    RenameCommand,
    RexCommand,
    SearchCommand,
    SortCommand,
    StatsCommand,
    StreamstatsCommand,
    TableCommand,
    TstatsCommand,
    WhereCommand,
    parse_spl,
)
from sigmakit.verification.spl.errors import CannotEvaluate, SplError, SplSyntaxError, UndecidedRecord
from sigmakit.verification.spl.expressions import as_text, compile_condition, compile_expression, compile_regex
from sigmakit.verification.spl.macros import Macro
from sigmakit.verification.spl.predicates import compile_search
from sigmakit.verification.spl.search_syntax import And, Comparison, Membership, Not, Or, RawTerm, SearchNode
from sigmakit.verification.spl.statistics import aggregate
from sigmakit.verification.spl.values import field_values, parse_number, text_of, wildcard_test

logger = logging.getLogger(__name__)

Record = Mapping[str, Any]


@dataclass(slots=True)
class Row:
    """One result in the pipeline: its fields and the records it was built from."""

    fields: Mapping[str, Any]
    sources: tuple[int, ...]


class Status(str, Enum):
    EVALUATED = "evaluated"
    CANNOT_EVALUATE = "cannot_evaluate"
    INVALID = "invalid"


class Verdict(str, Enum):
    MATCH = "match"
    NO_MATCH = "no_match"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one search over a list of records.

    ``status`` is ``evaluated`` (verdicts below), ``cannot_evaluate`` (valid SPL outside
    the subset; ``reason`` says what) or ``invalid`` (SPL Splunk would reject).
    ``results`` holds the fields of the rows the search returns, in order.
    """

    status: Status
    record_count: int
    matched: frozenset[int] = frozenset()
    undecided: Mapping[int, str] = field(default_factory=dict)
    reason: str | None = None
    results: tuple[Mapping[str, Any], ...] = ()

    def verdict(self, index: int) -> Verdict:
        if index in self.matched:
            return Verdict.MATCH
        if index in self.undecided:
            return Verdict.UNDECIDED
        return Verdict.NO_MATCH


Step = Callable[[Row], "Row | None"]


class CompiledSearch:
    """A search parsed and compiled once, to run over any number of record lists.

    *data_model* names the data model the records belong to (``Endpoint.Processes`` for
    CIM records); ``tstats`` refuses records of another model.
    """

    def __init__(self, query: Query) -> None:
        self.query = query
        commands = list(query.commands)
        self._generator: TstatsCommand | None = None
        self._branches: list[CompiledSearch] = []
        self._first_test: Callable[[Any], bool] | None = None
        if commands and isinstance(commands[0], TstatsCommand):
            self._generator = commands.pop(0)
            self._tstats_where = compile_search(self._generator.where) if self._generator.where else None
            self._check_tstats_fields(self._generator)
        elif commands and isinstance(commands[0], MultisearchCommand):
            self._branches = [CompiledSearch(q) for q in commands.pop(0).searches]
        elif commands and isinstance(commands[0], SearchCommand):
            self._first_test = compile_search(commands.pop(0).expression)
        self._steps = [_compile_step(c) for c in commands]

    def run(self, records: Sequence[Record], data_model: str | None = None) -> Evaluation:
        """Run the search over *records* (the verdicts are per record index)."""
        undecided: dict[int, str] = {}
        try:
            rows = self.rows(records, data_model, undecided)
        except CannotEvaluate as error:
            return Evaluation(Status.CANNOT_EVALUATE, len(records), reason=str(error))
        except SplSyntaxError as error:
            return Evaluation(Status.INVALID, len(records), reason=str(error))
        matched = frozenset(i for row in rows for i in row.sources)
        return Evaluation(
            Status.EVALUATED,
            len(records),
            matched,
            {i: reason for i, reason in undecided.items() if i not in matched},
            reason=None,
            results=tuple(row.fields for row in rows),
        )

    def rows(self, records: Sequence[Record], data_model: str | None, undecided: dict[int, str]) -> list[Row]:
        """The result rows of the search over *records* (records it cannot judge go to *undecided*)."""
        rows = self._initial_rows(records, data_model, undecided)
        for step in self._steps:
            rows = step(rows, undecided)
        return rows

    def _initial_rows(self, records: Sequence[Record], data_model: str | None, undecided: dict[int, str]) -> list[Row]:
        if self._generator is not None:
            return self._tstats(records, data_model, undecided)
        if self._branches:
            return [row for branch in self._branches for row in branch.rows(records, data_model, undecided)]
        test = self._first_test
        if test is None:
            return [Row(record, (index,)) for index, record in enumerate(records)]
        try:
            return [Row(record, (index,)) for index, record in enumerate(records) if test(record)]
        except UndecidedRecord:
            pass  # rare: go again record by record, to know which ones
        rows: list[Row] = []
        for index, record in enumerate(records):
            try:
                if test(record):
                    rows.append(Row(record, (index,)))
            except UndecidedRecord as error:
                undecided.setdefault(index, error.reason)
        return rows

    # tstats ---------------------------------------------------------------------------

    def _check_tstats_fields(self, command: TstatsCommand) -> None:
        dataset = command.data_model.split(".")[-1] + "."
        names = [*_search_fields(command.where), *command.by,
                 *(a.field for a in command.aggregations if a.field)]
        for name in names:
            if not (name.startswith(dataset) or name in _INTERNAL_FIELDS):
                raise CannotEvaluate(
                    f"tstats field {name!r} is neither a {command.data_model} field nor an internal field"
                )

    def _tstats(self, records: Sequence[Record], data_model: str | None, undecided: dict[int, str]) -> list[Row]:
        command = self._generator
        assert command is not None
        if data_model != command.data_model:
            raise CannotEvaluate(
                f"tstats reads datamodel={command.data_model}, but the records given are "
                f"{'records of ' + data_model if data_model else 'raw events, not data model records'}"
            )
        fill = command.options.get("fillnull_value")
        groups: dict[tuple[Any, ...], list[int]] = {}
        for index, record in enumerate(records):
            try:
                if self._tstats_where is not None and not self._tstats_where(record):
                    continue
            except UndecidedRecord as error:
                undecided.setdefault(index, error.reason)
                continue
            for key in _group_keys(record, command.by, fill, command.span):
                groups.setdefault(key, []).append(index)
        rows = []
        for key, members in groups.items():
            fields: dict[str, Any] = dict(zip(command.by, key))
            for aggregation in command.aggregations:
                value = aggregate(aggregation, [records[i] for i in members])
                if value is not None:
                    fields[aggregation.alias] = value
            rows.append(Row(fields, tuple(members)))
        return rows


_INTERNAL_FIELDS = frozenset({"_time", "host", "source", "sourcetype", "index"})


def _search_fields(node: SearchNode | None) -> list[str]:
    if node is None:
        return []
    if isinstance(node, (Comparison, Membership)):
        return [node.field]
    if isinstance(node, RawTerm):
        raise CannotEvaluate("a bare term in a tstats where clause (there is no _raw in a data model summary)")
    if isinstance(node, Not):
        return _search_fields(node.operand)
    if isinstance(node, (And, Or)):
        return [name for operand in node.operands for name in _search_fields(operand)]
    raise TypeError(node)


def _group_keys(record: Record, by: tuple[str, ...], fill: str | None, span: int | None = None
                ) -> list[tuple[Any, ...]]:
    """The by-field combinations a record falls into (one per value of multivalue fields).

    With *span*, ``_time`` is rounded down to a multiple of that many seconds.
    """
    choices: list[tuple[Any, ...]] = []
    for name in by:
        values: tuple[Any, ...] | None = field_values(record, name)
        if values is not None and name == "_time" and span is not None:
            times = [parse_number(v) for v in values]
            if any(t is None for t in times):
                raise UndecidedRecord(f"_time {values!r} is not a number of seconds")
            values = tuple(int(t // span * span) for t in times if t is not None)
        if values is None:
            if fill is None:
                return []
            values = (fill,)
        choices.append(tuple(dict.fromkeys(values)))
    return list(itertools.product(*choices))


# Streaming commands ---------------------------------------------------------------------


TableStep = Callable[[list[Row], dict[int, str]], list[Row]]


def _compile_step(command: Command) -> TableStep:
    """A function from the rows before *command* to the rows after it."""
    if isinstance(command, SortCommand):
        return _sort_step(command)
    if isinstance(command, StatsCommand):
        return _stats_step(command)
    if isinstance(command, StreamstatsCommand):
        return _streamstats_step(command)
    if isinstance(command, MvexpandCommand):
        return _mvexpand_step(command)
    return _per_row(_compile_row_step(command))


def _per_row(step: Step) -> TableStep:
    def apply(rows: list[Row], undecided: dict[int, str]) -> list[Row]:
        kept: list[Row] = []
        for row in rows:
            try:
                result = step(row)
                if result is not None:
                    kept.append(result)
            except UndecidedRecord as error:
                for index in row.sources:
                    undecided.setdefault(index, error.reason)
        return kept
    return apply


def _compile_row_step(command: Command) -> Step:
    if isinstance(command, SearchCommand):
        return _filter(compile_search(command.expression))
    if isinstance(command, WhereCommand):
        return _filter(compile_condition(command.expression))
    if isinstance(command, RegexCommand):
        return _filter(_regex_test(command))
    if isinstance(command, EvalCommand):
        return _eval_step(command)
    if isinstance(command, RexCommand):
        return _rex_step(command)
    if isinstance(command, RenameCommand):
        return _rename_step(command)
    if isinstance(command, (FieldsCommand, TableCommand)):
        return _projection_step(command)
    if isinstance(command, ConvertCommand):
        return _convert_step(command)
    if isinstance(command, (TstatsCommand, MultisearchCommand)):
        raise SplSyntaxError(f"{type(command).__name__.removesuffix('Command').lower()} must be the first command")
    raise CannotEvaluate(f"{type(command).__name__} is outside the evaluator's subset")


def _filter(test: Callable[[Any], bool]) -> Step:
    return lambda row: row if test(row.fields) else None


def _regex_test(command: RegexCommand) -> Callable[[Any], bool]:
    """``regex``: a result without the field does not match, so ``!=`` keeps it."""
    pattern = compile_regex(command.pattern)
    name, negated = command.field, command.negated

    def test(record: Any) -> bool:
        values = field_values(record, name)
        found = values is not None and any(pattern.search(v) for v in values)
        return found != negated
    return test


def _eval_step(command: EvalCommand) -> Step:
    compiled = [(name, compile_expression(node)) for name, node in command.assignments]

    def step(row: Row) -> Row:
        fields = dict(row.fields)
        for name, evaluate in compiled:
            value = evaluate(fields)
            if isinstance(value, bool):
                raise SplSyntaxError(f"eval cannot assign a boolean to {name}; use if(condition, a, b)")
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = list(value) if isinstance(value, tuple) else value
        return Row(fields, row.sources)
    return step


def _rex_step(command: RexCommand) -> Step:
    pattern = compile_regex(command.pattern)
    names = [name for name in pattern.groupindex]
    if not names:
        raise CannotEvaluate("rex without a named group extracts nothing; not modelled")

    def step(row: Row) -> Row:
        values = field_values(row.fields, command.field)
        if values is not None and len(values) > 1:
            raise UndecidedRecord(f"rex on the multivalue field {command.field} is not modelled")
        found = pattern.search(values[0]) if values else None
        if found is None:
            return row
        fields = dict(row.fields)
        for name in names:
            value = found.group(name)
            if value == "":
                raise UndecidedRecord(f"rex group {name} matched an empty string; Splunk's handling is not modelled")
            if value is not None:
                fields[name] = value
        return Row(fields, row.sources)
    return step


def renamed(name: str, command: RenameCommand) -> str:
    """What *name* is called after *command* (itself when no pair applies)."""
    for source, target in command.pairs:
        if "*" in source and wildcard_test(source, case_sensitive=True)(name):
            name = _wildcard_target(source, target, name)
        elif name == source:
            name = target
    return name


def _rename_step(command: RenameCommand) -> Step:
    def rename(fields: Mapping[str, Any]) -> dict[str, Any]:
        names = {name: renamed(name, command) for name in fields}
        replaced = {new for name, new in names.items() if new != name}  # an existing field of that name goes
        return {names[name]: value for name, value in fields.items()
                if names[name] != name or name not in replaced}

    return lambda row: Row(rename(row.fields), row.sources)


def _wildcard_target(source: str, target: str, name: str) -> str:
    """The new name for *name* under ``rename source AS target`` with one ``*`` each."""
    if source.count("*") != 1 or target.count("*") > 1:
        raise CannotEvaluate(f"rename {source} AS {target}: only one wildcard on each side is modelled")
    before, after = source.split("*")
    middle = name[len(before):len(name) - len(after)]
    return target.replace("*", middle) if "*" in target else target


def _projection_step(command: FieldsCommand | TableCommand) -> Step:
    tests = [wildcard_test(p, case_sensitive=True) for p in command.patterns]
    remove = isinstance(command, FieldsCommand) and command.remove

    def keep(name: str) -> bool:
        listed = any(test(name) for test in tests)
        if remove:
            return not listed
        # fields/table keep the listed fields; fields also keeps internal fields like _raw
        return listed or (isinstance(command, FieldsCommand) and name.startswith("_"))

    return lambda row: Row({k: v for k, v in row.fields.items() if keep(k)}, row.sources)


def _convert_step(command: ConvertCommand) -> Step:
    def ctime(value: Any) -> Any:
        number = parse_number(as_text(value))
        if number is None:
            return value
        moment = datetime.datetime.fromtimestamp(number, tz=datetime.timezone.utc)
        try:
            return moment.strftime(command.time_format)
        except ValueError as error:
            raise CannotEvaluate(f"convert timeformat {command.time_format!r}: {error}") from None

    def step(row: Row) -> Row:
        fields = dict(row.fields)
        for _function, name, output in command.conversions:
            if fields.get(name) is not None:
                fields[output] = ctime(fields[name])
        return Row(fields, row.sources)
    return step


def compile_spl(text: str, macros: Mapping[tuple[str, int], Macro] | None = None) -> CompiledSearch:
    """Parse and compile *text*; raises SplSyntaxError or CannotEvaluate."""
    return CompiledSearch(parse_spl(text, macros))


def evaluate_spl(
    text: str,
    records: Sequence[Record],
    macros: Mapping[tuple[str, int], Macro] | None = None,
    data_model: str | None = None,
) -> Evaluation:
    """Run SPL *text* over *records*: an Evaluation, never an exception for SPL problems."""
    try:
        compiled = compile_spl(text, macros)
    except CannotEvaluate as error:
        return Evaluation(Status.CANNOT_EVALUATE, len(records), reason=str(error))
    except SplError as error:
        return Evaluation(Status.INVALID, len(records), reason=str(error))
    return compiled.run(records, data_model)


# Commands over the whole result set -----------------------------------------------------


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, numbers by value (Splunk's automatic sort order)."""
    if value is None:
        return (2, "")
    text = text_of(value[0] if isinstance(value, (list, tuple)) and value else value)
    number = parse_number(text)
    return (0, number) if number is not None else (1, text)


def _sort_step(command: SortCommand) -> TableStep:
    def apply(rows: list[Row], undecided: dict[int, str]) -> list[Row]:
        ordered = list(rows)
        for name, descending in reversed(command.keys):
            ordered.sort(key=lambda row: _sort_key(row.fields.get(name)), reverse=descending)
        return ordered if command.limit == 0 else ordered[:command.limit]
    return apply


def _group_of(row: Row, by: tuple[str, ...]) -> tuple[str, ...] | None:
    key = []
    for name in by:
        values = field_values(row.fields, name)
        if values is None:
            return None
        if len(values) > 1:
            raise UndecidedRecord(f"grouping by the multivalue field {name} is not modelled")
        key.append(values[0])
    return tuple(key)


def _stats_step(command: StatsCommand) -> TableStep:
    """``stats``: one row per group; results without a by-field value are left out."""
    def apply(rows: list[Row], undecided: dict[int, str]) -> list[Row]:
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            try:
                key = _group_of(row, command.by)
            except UndecidedRecord as error:
                for index in row.sources:
                    undecided.setdefault(index, error.reason)
                continue
            if key is not None:
                groups.setdefault(key, []).append(row)
        if not command.by and not groups:
            groups[()] = []  # stats without by-fields returns one row even for no results
        out = []
        for key, members in groups.items():
            fields: dict[str, Any] = dict(zip(command.by, key))
            for aggregation in command.aggregations:
                value = aggregate(aggregation, [m.fields for m in members])
                if value is not None:
                    fields[aggregation.alias] = value
            out.append(Row(fields, tuple(i for m in members for i in m.sources)))
        return out
    return apply


def _streamstats_step(command: StreamstatsCommand) -> TableStep:
    """``streamstats``: each row gets statistics over the rows before it (and itself).

    With ``time_window``, only rows of the same group within that many seconds before the
    row count. A row exactly ``time_window`` seconds older is undecided: Splunk does not
    document which side of the boundary it falls on.
    """
    def apply(rows: list[Row], undecided: dict[int, str]) -> list[Row]:
        seen: dict[tuple[str, ...], list[tuple[float | None, Row]]] = {}
        out: list[Row] = []
        for row in rows:
            try:
                out.append(_streamstats_row(command, row, seen))
            except UndecidedRecord as error:
                for index in row.sources:
                    undecided.setdefault(index, error.reason)
        return out
    return apply


def _streamstats_row(command: StreamstatsCommand, row: Row,
                     seen: dict[tuple[str, ...], list[tuple[float | None, Row]]]) -> Row:
    key = _group_of(row, command.by)
    if key is None:
        raise UndecidedRecord(f"streamstats by {', '.join(command.by)} on a result without one of them")
    time = None
    if command.time_window is not None:
        values = field_values(row.fields, "_time")
        time = parse_number(values[0]) if values else None
        if time is None:
            raise UndecidedRecord("streamstats time_window on a result without a numeric _time")
    history = seen.setdefault(key, [])
    history.append((time, row))
    window = [r for t, r in history]
    if command.time_window is not None and time is not None:
        start = time - command.time_window
        if any(t == start for t, _ in history):
            raise UndecidedRecord("a result exactly time_window before this one: the boundary is not documented")
        window = [r for t, r in history if t is not None and start < t <= time]
    fields = dict(row.fields)
    for aggregation in command.aggregations:
        value = aggregate(aggregation, [r.fields for r in window])
        if value is None:
            fields.pop(aggregation.alias, None)
        else:
            fields[aggregation.alias] = value
    return Row(fields, row.sources)


def _mvexpand_step(command: MvexpandCommand) -> TableStep:
    def apply(rows: list[Row], undecided: dict[int, str]) -> list[Row]:
        out = []
        for row in rows:
            values = field_values(row.fields, command.field)
            if values is None:
                for index in row.sources:
                    undecided.setdefault(index, f"mvexpand {command.field} on a result without it")
                continue
            for value in dict.fromkeys(values):
                out.append(Row({**row.fields, command.field: value}, row.sources))
        return out
    return apply
