"""A search pipeline parsed into commands, each holding its own syntax tree.

``parse_spl`` expands macros, splits the search at its top-level pipes and parses each
command's arguments. The commands in the evaluator's subset are listed in ``PARSERS``;
any other command makes the whole search "cannot evaluate", with the command's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Final, Mapping, Union

from sigmakit.verification.spl.errors import CannotEvaluate, SplSyntaxError
from sigmakit.verification.spl.eval_syntax import EvalNode, parse_assignments, parse_eval
from sigmakit.verification.spl.lexer import Kind, Token, TokenStream, tokenize
from sigmakit.verification.spl.macros import Macro, expand_macros
from sigmakit.verification.spl.search_syntax import SearchNode, field_name, parse_expression, parse_search
from sigmakit.verification.spl.statistics import Aggregation, check_function, span_seconds
from sigmakit.verification.spl.text import Segment, split_pipeline, subsearches, unescape


@dataclass(frozen=True)
class SearchCommand:
    expression: SearchNode


@dataclass(frozen=True)
class WhereCommand:
    expression: EvalNode


@dataclass(frozen=True)
class EvalCommand:
    assignments: tuple[tuple[str, EvalNode], ...]


@dataclass(frozen=True)
class RegexCommand:
    """``regex field="re"`` keeps matching results; ``field!="re"`` the others."""

    field: str
    negated: bool
    pattern: str


@dataclass(frozen=True)
class RexCommand:
    """``rex field=f "re"``: named groups of the first match become fields."""

    field: str
    pattern: str


@dataclass(frozen=True)
class RenameCommand:
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FieldsCommand:
    remove: bool
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class TableCommand:
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class ConvertCommand:
    """``convert [timeformat=...] ctime(field) [AS name]...``."""

    time_format: str
    conversions: tuple[tuple[str, str, str], ...]  # (function, field, output field)


@dataclass(frozen=True)
class TstatsCommand:
    options: Mapping[str, str]
    aggregations: tuple[Aggregation, ...]
    data_model: str
    where: SearchNode | None
    by: tuple[str, ...]
    span: int | None = None  # seconds, for a _time by-field


@dataclass(frozen=True)
class SortCommand:
    """``sort [N] [-]field...``: a stable sort, descending for ``-``."""

    limit: int
    keys: tuple[tuple[str, bool], ...]  # (field, descending)


@dataclass(frozen=True)
class StatsCommand:
    aggregations: tuple[Aggregation, ...]
    by: tuple[str, ...]


@dataclass(frozen=True)
class StreamstatsCommand:
    """``streamstats time_window=<span> <aggregations> [by <fields>]``."""

    time_window: int | None
    aggregations: tuple[Aggregation, ...]
    by: tuple[str, ...]


@dataclass(frozen=True)
class MvexpandCommand:
    field: str


@dataclass(frozen=True)
class MultisearchCommand:
    """``multisearch [search ...] [search ...]``: the union of streaming subsearches."""

    searches: tuple["Query", ...]


Command = Union[
    SearchCommand, WhereCommand, EvalCommand, RegexCommand, RexCommand, RenameCommand,
    FieldsCommand, TableCommand, ConvertCommand, TstatsCommand, SortCommand, StatsCommand,
    StreamstatsCommand, MvexpandCommand, MultisearchCommand,
]


@dataclass(frozen=True)
class Query:
    """A parsed search: the expanded text and its commands in order."""

    text: str
    commands: tuple[Command, ...] = field(default_factory=tuple)


def parse_spl(text: str, macros: Mapping[tuple[str, int], Macro] | None = None) -> Query:
    """Parse SPL *text* into a Query, after expanding its macros from *macros*."""
    expanded = expand_macros(text, macros or {})
    return _parse_pipeline(expanded)


def _parse_pipeline(expanded: str, base: int = 0) -> Query:
    segments = [Segment.of(s.text, s.offset + base) for s in split_pipeline(expanded)]
    commands: list[Command] = []
    first = segments[0]
    if first.name == "" and first.arguments == "":
        if len(segments) == 1:
            raise SplSyntaxError("empty search")
        segments = segments[1:]
        if segments[0].name not in GENERATING:
            raise SplSyntaxError(
                f"a search starting with '|' must start with a generating command, not {segments[0].name!r}",
                segments[0].name_offset,
            )
    elif first.name != "search":
        _no_subsearch(first.text, first.offset)
        commands.append(SearchCommand(parse_search(first.text, first.offset)))
        segments = segments[1:]
    for segment in segments:
        commands.append(parse_command(segment))
    return Query(expanded, tuple(commands))


def parse_command(segment: Segment) -> Command:
    parser = PARSERS.get(segment.name)
    if parser is None:
        if segment.name == "":
            raise SplSyntaxError("empty command between pipes", segment.offset)
        raise CannotEvaluate(f"the {segment.name} command is outside the evaluator's subset", segment.name_offset)
    if segment.name != "multisearch":
        _no_subsearch(segment.arguments, segment.arguments_offset)
    return parser(segment.arguments, segment.arguments_offset)


def _no_subsearch(text: str, base: int) -> None:
    groups = subsearches(text, base)
    if groups:
        raise CannotEvaluate("subsearches ([...]) are outside the evaluator's subset", groups[0][1] - 1)


def _search(arguments: str, base: int) -> Command:
    if not arguments.strip():
        raise SplSyntaxError("search needs a search expression", base)
    return SearchCommand(parse_search(arguments, base))


def _where(arguments: str, base: int) -> Command:
    if not arguments.strip():
        raise SplSyntaxError("where needs an expression", base)
    return WhereCommand(parse_eval(arguments, base))


def _eval(arguments: str, base: int) -> Command:
    return EvalCommand(tuple(parse_assignments(arguments, base)))


def _regex(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    first = stream.next()
    if stream.peek().kind is Kind.OP:
        operator = stream.next()
        if operator.text not in ("=", "!="):
            raise SplSyntaxError(f"regex takes field=\"re\" or field!=\"re\", not {operator.text}", operator.offset)
        pattern = stream.next()
        name, negated = field_name(first), operator.text == "!="
    else:
        pattern, name, negated = first, "_raw", False
    if pattern.kind not in (Kind.STRING, Kind.WORD):
        raise SplSyntaxError(f"regex needs a regular expression, found {pattern.describe()}", pattern.offset)
    _expect_end(stream, "regex")
    return RegexCommand(name, negated, unescape(pattern.text))


def _rex(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    options: dict[str, str] = {}
    pattern: Token | None = None
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.WORD and stream.peek().text == "=":
            stream.next()
            options[token.text.lower()] = unescape(stream.next().text)
        elif token.kind is Kind.STRING and pattern is None:
            pattern = token
        else:
            raise SplSyntaxError(f"unexpected {token.describe()} in rex", token.offset)
    if options.get("mode") == "sed":
        raise CannotEvaluate("rex mode=sed is outside the evaluator's subset", base)
    unknown = set(options) - {"field", "max_match"}
    if unknown:
        raise CannotEvaluate(f"rex option(s) {', '.join(sorted(unknown))} are outside the evaluator's subset", base)
    if options.get("max_match", "1") != "1":
        raise CannotEvaluate("rex max_match other than 1 is outside the evaluator's subset", base)
    if pattern is None:
        raise SplSyntaxError("rex needs a quoted regular expression", base)
    return RexCommand(options.get("field", "_raw"), unescape(pattern.text))


def _rename(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    pairs: list[tuple[str, str]] = []
    while not stream.at_end():
        source = field_name(stream.next())
        keyword = stream.next()
        if not keyword.is_word_ci("as"):
            raise SplSyntaxError(f"expected AS in rename, found {keyword.describe()}", keyword.offset)
        pairs.append((source, field_name(stream.next())))
        if stream.peek().kind is Kind.COMMA:
            stream.next()
    if not pairs:
        raise SplSyntaxError("rename needs 'field AS new_name'", base)
    return RenameCommand(tuple(pairs))


def _field_list(stream: TokenStream) -> tuple[str, ...]:
    names: list[str] = []
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.COMMA:
            continue
        names.append(field_name(token))
    return tuple(names)


def _fields(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    remove = False
    if stream.peek().is_word("-", "+"):
        remove = stream.next().text == "-"
    names = _field_list(stream)
    if not names:
        raise SplSyntaxError("fields needs at least one field", base)
    return FieldsCommand(remove, names)


def _table(arguments: str, base: int) -> Command:
    names = _field_list(TokenStream(tokenize(arguments, base)))
    if not names:
        raise SplSyntaxError("table needs at least one field", base)
    return TableCommand(names)


def _convert(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    time_format = "%m/%d/%Y %H:%M:%S"
    conversions: list[tuple[str, str, str]] = []
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.COMMA:
            continue
        if token.is_word_ci("timeformat") and stream.peek().text == "=":
            stream.next()
            time_format = unescape(stream.next().text)
            continue
        if token.kind is not Kind.WORD or stream.peek().kind is not Kind.LPAREN:
            raise SplSyntaxError(f"expected a conversion like ctime(field), found {token.describe()}", token.offset)
        stream.next()
        name = field_name(stream.next())
        stream.expect(Kind.RPAREN, "')' closing the conversion")
        output = name
        if stream.peek().is_word_ci("as"):
            stream.next()
            output = field_name(stream.next())
        function = token.text.lower()
        if function != "ctime":
            raise CannotEvaluate(f"convert {function}() is outside the evaluator's subset", token.offset)
        conversions.append((function, name, output))
    if not conversions:
        raise SplSyntaxError("convert needs at least one conversion", base)
    return ConvertCommand(time_format, tuple(conversions))


TSTATS_OPTIONS: Final = frozenset({"summariesonly", "allow_old_summaries", "fillnull_value"})


def _tstats(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    options: dict[str, str] = {}
    aggregations: list[Aggregation] = []
    while not stream.at_end() and not stream.peek().is_word_ci("from"):
        token = stream.next()
        if token.kind is Kind.WORD and stream.peek().text == "=":
            stream.next()
            option = token.text.lower()
            if option not in TSTATS_OPTIONS:
                raise CannotEvaluate(f"the tstats option {option} is outside the evaluator's subset", token.offset)
            options[option] = unescape(stream.next().text)
        elif token.kind is Kind.WORD:
            aggregations.append(_aggregation(token, stream))
        elif token.kind is not Kind.COMMA:
            raise SplSyntaxError(f"unexpected {token.describe()} in tstats", token.offset)
    if not stream.next().is_word_ci("from"):
        raise SplSyntaxError("tstats needs 'from datamodel=<model>.<dataset>'", base)
    source = stream.next()
    if not source.is_word_ci("datamodel") or stream.next().text != "=":
        raise CannotEvaluate("tstats over anything but 'datamodel=...' is outside the evaluator's subset", source.offset)
    data_model = unescape(stream.next().text)
    where = None
    if stream.peek().is_word_ci("where"):
        stream.next()
        where = parse_expression(stream, stop_words=frozenset({"by"}))
    by: tuple[str, ...] = ()
    span = None
    if stream.peek().is_word_ci("by"):
        stream.next()
        by, span_text = _by_fields(stream, allow_span=True)
        span = span_seconds(span_text) if span_text is not None else None
    _expect_end(stream, "tstats")
    if not aggregations:
        raise SplSyntaxError("tstats needs at least one statistics function", base)
    if span is not None and "_time" not in by:
        raise SplSyntaxError("tstats span= needs _time among the by-fields", base)
    return TstatsCommand(options, tuple(aggregations), data_model, where, by, span)


def _aggregation(token: Token, stream: TokenStream) -> Aggregation:
    function = check_function(token.text, token.offset)
    argument = None
    if stream.peek().kind is Kind.LPAREN and not stream.peek().spaced:
        stream.next()
        argument = field_name(stream.next())
        stream.expect(Kind.RPAREN, f"')' closing {token.text}(")
    if argument is None and function != "count":
        raise SplSyntaxError(f"{function} needs a field: {function}(field)", token.offset)
    alias = Aggregation.default_alias(function, argument)
    if stream.peek().is_word_ci("as"):
        stream.next()
        alias = field_name(stream.next())
    return Aggregation(function, argument, alias)


def _by_fields(stream: TokenStream, allow_span: bool = False) -> tuple[tuple[str, ...], str | None]:
    """The fields after ``by`` (to the end), and ``span=`` where *allow_span*."""
    names: list[str] = []
    span = None
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.COMMA:
            continue
        if token.kind is Kind.WORD and stream.peek().text == "=":
            stream.next()
            if not (allow_span and token.text.lower() == "span"):
                raise CannotEvaluate(f"the by-clause option {token.text}= is outside the evaluator's subset",
                                     token.offset)
            span = unescape(stream.next().text)
            continue
        names.append(field_name(token))
    if not names:
        raise SplSyntaxError("'by' needs at least one field", stream.peek().offset)
    return tuple(names), span


def _aggregations_and_by(stream: TokenStream, command: str) -> tuple[list[Aggregation], tuple[str, ...]]:
    aggregations: list[Aggregation] = []
    by: tuple[str, ...] = ()
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.COMMA:
            continue
        if token.is_word_ci("by"):
            by, _ = _by_fields(stream)
            break
        if token.kind is not Kind.WORD:
            raise SplSyntaxError(f"unexpected {token.describe()} in {command}", token.offset)
        aggregations.append(_aggregation(token, stream))
    if not aggregations:
        raise SplSyntaxError(f"{command} needs at least one statistics function", stream.peek().offset)
    return aggregations, by


def _stats(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    aggregations, by = _aggregations_and_by(stream, "stats")
    return StatsCommand(tuple(aggregations), by)


STREAMSTATS_DEFAULTS: Final = {"current": "t", "global": "t", "window": "0"}


def _streamstats(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    time_window = None
    while stream.peek().kind is Kind.WORD and stream.peek(1).text == "=":
        option = stream.next()
        stream.next()
        value = unescape(stream.next().text)
        name = option.text.lower()
        if name == "time_window":
            time_window = span_seconds(value)
        elif STREAMSTATS_DEFAULTS.get(name) not in (value.lower(), value.lower()[:1]):
            raise CannotEvaluate(f"the streamstats option {option.text}={value} is outside the evaluator's subset",
                                 option.offset)
    aggregations, by = _aggregations_and_by(stream, "streamstats")
    return StreamstatsCommand(time_window, tuple(aggregations), by)


def _sort(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    limit = 10000  # the sort command's default limit
    if stream.peek().kind is Kind.WORD and stream.peek().text.isdigit():
        limit = int(stream.next().text)
    keys: list[tuple[str, bool]] = []
    descending = False
    while not stream.at_end():
        token = stream.next()
        if token.kind is Kind.COMMA:
            continue
        if token.is_word("-", "+"):
            descending = token.text == "-"
            continue
        if token.kind is Kind.LPAREN or (token.kind is Kind.WORD and stream.peek().kind is Kind.LPAREN):
            raise CannotEvaluate("sort functions (num(), str(), ip(), auto()) are outside the evaluator's subset",
                                 token.offset)
        name = field_name(token)
        if name[:1] in "+-" and len(name) > 1:
            descending, name = name[0] == "-", name[1:]
        keys.append((name, descending))
        descending = False
    if not keys:
        raise SplSyntaxError("sort needs at least one field", base)
    return SortCommand(limit, tuple(keys))


def _mvexpand(arguments: str, base: int) -> Command:
    stream = TokenStream(tokenize(arguments, base))
    name = field_name(stream.next())
    _expect_end(stream, "mvexpand")
    return MvexpandCommand(name)


def _multisearch(arguments: str, base: int) -> Command:
    groups = subsearches(arguments, base)
    if len(groups) < 2:
        raise SplSyntaxError("multisearch needs at least two [subsearches]", base)
    searches = []
    for text, offset in groups:
        query = _parse_pipeline(text, offset)
        if not query.commands or not all(isinstance(c, _STREAMING) for c in query.commands):
            raise SplSyntaxError("multisearch subsearches may hold only streaming commands", offset)
        searches.append(query)
    return MultisearchCommand(tuple(searches))


def _expect_end(stream: TokenStream, command: str) -> None:
    if not stream.at_end():
        token = stream.peek()
        raise SplSyntaxError(f"unexpected {token.describe()} in {command}", token.offset)


PARSERS: Final[dict[str, Callable[[str, int], Command]]] = {
    "search": _search,
    "where": _where,
    "eval": _eval,
    "regex": _regex,
    "rex": _rex,
    "rename": _rename,
    "fields": _fields,
    "table": _table,
    "convert": _convert,
    "tstats": _tstats,
    "stats": _stats,
    "streamstats": _streamstats,
    "sort": _sort,
    "mvexpand": _mvexpand,
    "multisearch": _multisearch,
}
GENERATING: Final = frozenset({"tstats", "multisearch"})
_STREAMING: Final = (SearchCommand, WhereCommand, EvalCommand, RegexCommand, RexCommand, RenameCommand,
                     FieldsCommand, ConvertCommand, MvexpandCommand)
