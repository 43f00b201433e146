"""macros.conf: every macro the correlation searches call, defined inside the app.

Three kinds:

* one ``<detection_name>_filter`` per detection, shared by its targets, defined as
  ``search *``: the tuning hook users edit instead of the search;
* the helper macros of Splunk's ES content (``security_content_summariesonly``,
  ``security_content_ctime(1)``, ``drop_dm_object_name(1)``), so the app works where
  Splunk's security content or the CIM app are missing; default.meta keeps them private
  to the app (``export = none``), so they never override those apps' own;
* the named-selection macros of the cim searches (``process_diskshadow``), defined as
  the selection converted on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Iterable

from sigmakit.errors import OutputError
from sigmakit.output.conf import ConfFile, Stanza, single_line
from sigmakit.output.savedsearches import CorrelationSearch


@dataclass(frozen=True)
class Macro:
    """One macros.conf stanza: ``name`` or ``name(N)`` with its argument names."""

    name: str
    definition: str
    description: str
    args: tuple[str, ...] = ()

    @property
    def stanza_name(self) -> str:
        return f"{self.name}({len(self.args)})" if self.args else self.name

    def stanza(self) -> Stanza:
        settings = [("args", ", ".join(self.args))] if self.args else []
        settings += [("definition", self.definition), ("description", self.description)]
        return Stanza.of(self.stanza_name, settings)


HELPER_MACROS: Final = (
    Macro(
        "security_content_summariesonly",
        "summariesonly=false allow_old_summaries=true fillnull_value=null",
        "tstats options of the ES searches: accelerated summaries plus events not yet summarised.",
    ),
    Macro(
        "security_content_ctime",
        'convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)',
        "Turns an epoch time field into a readable timestamp.",
        ("field",),
    ),
    Macro(
        "drop_dm_object_name",
        "rename $dataset$.* AS *",
        "Removes the data model dataset prefix (Processes.) from tstats result fields.",
        ("dataset",),
    ),
)
HELPER_MACRO_STANZAS: Final = tuple(m.stanza_name for m in HELPER_MACROS)


def filter_macro(search: CorrelationSearch) -> Macro:
    return Macro(
        search.rule.filter_macro,
        "search *",
        single_line(f"Tuning hook of the detection {search.rule.title}: edit it to filter out false positives."),
    )


def macros_conf(searches: Iterable[CorrelationSearch], header: tuple[str, ...] = ()) -> ConfFile:
    """macros.conf for *searches*; raises OutputError when two rules define one macro differently."""
    macros: dict[str, tuple[Macro, str]] = {m.stanza_name: (m, "sigmakit") for m in HELPER_MACROS}

    def add(macro: Macro, owner: str) -> None:
        known = macros.get(macro.stanza_name)
        if known is None:
            macros[macro.stanza_name] = (macro, owner)
        elif known[0].definition != macro.definition:
            raise OutputError(
                f"macro {macro.stanza_name} is defined as {known[0].definition!r} by {known[1]} "
                f"and as {macro.definition!r} by {owner}; rename one of them in splunk_es.macros"
            )

    for search in searches:
        owner = f"rule {search.rule.title!r} ({search.rule.path})"
        add(filter_macro(search), owner)
        for name, definition in sorted(search.result.macros.items()):
            description = single_line(f"Selection of the detection {search.rule.title}, as a macro.")
            add(Macro(name, definition, description), owner)
    # The rules' own macros first, alphabetically; the helpers last.
    ordered = sorted(macros.values(), key=lambda item: (item[0].stanza_name in HELPER_MACRO_STANZAS,
                                                        item[0].stanza_name))
    return ConfFile("default/macros.conf", tuple(m.stanza() for m, _ in ordered), header)


def macro_calls(spl: str) -> list[str]:
    """The macros an SPL text calls, as macros.conf names them (``name`` or ``name(N)``).

    Backticks inside double-quoted strings are literal text, not calls.
    """
    calls: list[str] = []
    in_string = False
    index = 0
    while index < len(spl):
        char = spl[index]
        if in_string and char == "\\":
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "`" and not in_string:
            end = spl.find("`", index + 1)
            if end < 0:
                raise OutputError(f"unclosed macro call in {spl!r}")
            calls.append(_stanza_name_of_call(spl[index + 1 : end]))
            index = end
        index += 1
    return calls


def _stanza_name_of_call(call: str) -> str:
    name, bracket, rest = call.partition("(")
    if not bracket:
        return name.strip()
    depth, count, in_string = 0, 1, False
    for char in rest.rstrip().removesuffix(")"):
        if char == '"':
            in_string = not in_string
        elif not in_string and char == "(":
            depth += 1
        elif not in_string and char == ")":
            depth -= 1
        elif not in_string and depth == 0 and char == ",":
            count += 1
    return f"{name.strip()}({count})"


__all__ = ["HELPER_MACROS", "HELPER_MACRO_STANZAS", "Macro", "filter_macro", "macro_calls", "macros_conf"]
