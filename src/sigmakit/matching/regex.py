"""Every regular expression the matcher runs is compiled here, and only here.

Two engines, chosen per pattern:

* **RE2** (google-re2), whenever it accepts the pattern: matching takes time linear in
  the text, so no rule can stall the matcher however its regex is written. RE2's ``\\d``,
  ``\\w``, ``\\s`` and ``\\b`` are ASCII classes, as in PCRE (the flavour Sigma names and
  Splunk runs).
* the **regex** package, for what RE2 refuses (backreferences, lookaround, possessive
  quantifiers...). It backtracks, so every search runs with a timeout; a search that
  times out raises RegexTimeout instead of quietly counting as "no match".

One difference between RE2 and PCRE/Python is bridged here: outside multiline mode, PCRE's
``$`` also matches just before a final newline, RE2's only at the very end. RE2's places
for ``$`` are a subset of PCRE's, so whatever RE2 finds is a match; only when it finds
nothing in a text that ends with a newline does the backtracking engine give the answer
(with its timeout). Texts ending in a newline are rare in logs, so this costs little.

A second difference is bridged too: the regex package's ``\\d``, ``\\w``, ``\\s`` and ``\\b``
are Unicode classes (``\\w`` takes ``é``, ``\\d`` an Arabic-Indic digit), RE2's and PCRE's
are ASCII. Its ASCII flag would also make case folding ASCII-only, so the classes are
spelt out instead (``ascii_classes``) before the regex package compiles a pattern.

Sigma's regex flags (``i``, ``m``, ``s``) arrive as pySigma's SigmaRegularExpressionFlag
values and become inline flags, identical for both engines.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Final, Iterator

import re2
import regex as backtracking
from sigma.types import SigmaRegularExpressionFlag

logger = logging.getLogger(__name__)

# How long one search with the backtracking engine may take before it is abandoned.
REGEX_TIMEOUT_SECONDS: Final = 1.0

_INLINE_FLAGS: Final = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
_RE2_OPTIONS: Final = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is expected: it goes to the other engine
# Characters with a meaning in a pattern outside a character class.
_SPECIAL: Final = frozenset("\\.^$|?*+()[]{}")


class RegexTimeout(Exception):
    """A backtracking search took longer than REGEX_TIMEOUT_SECONDS."""

    def __init__(self, pattern: str) -> None:
        super().__init__(f"regular expression {pattern!r} took longer than "
                         f"{REGEX_TIMEOUT_SECONDS:g}s on one value and was abandoned")
        self.pattern = pattern


class RegexCompileError(Exception):
    """Neither engine accepts the pattern."""


@dataclass(frozen=True)
class CompiledRegex:
    """A compiled pattern: ``search`` (anywhere in the text) and ``fullmatch`` (all of it;
    for generated patterns, which hold no ``$``).

    ``engine`` is ``"re2"`` or ``"regex"``; ``pattern`` is the text as the rule gave it.
    """

    pattern: str
    flags: frozenset[SigmaRegularExpressionFlag]
    engine: str
    _search: Callable[[str], Any] = field(repr=False, compare=False)
    _fullmatch: Callable[[str], Any] = field(repr=False, compare=False)

    def search(self, text: str) -> bool:
        return self._search(text) is not None

    def fullmatch(self, text: str) -> bool:
        return self._fullmatch(text) is not None


# RE2's (and PCRE's) shorthand classes, spelt out for the regex package (ascii_classes).
_WORD: Final = "0-9A-Za-z_"
_SPACE: Final = "\\t\\n\\f\\r "
_IN_CLASS: Final = {"d": "0-9", "w": _WORD, "s": _SPACE}
_OUTSIDE_CLASS: Final = {
    "d": "[0-9]", "D": "[^0-9]", "w": f"[{_WORD}]", "W": f"[^{_WORD}]", "s": f"[{_SPACE}]", "S": f"[^{_SPACE}]",
    # RE2's word boundary ignores case-insensitivity (``ſ`` and the Kelvin sign, which
    # ``(?i)[a-z]`` takes, are no word characters to it), hence the case-sensitive class.
    "b": f"(?:(?<=(?-i:[{_WORD}]))(?!(?-i:[{_WORD}]))|(?<!(?-i:[{_WORD}]))(?=(?-i:[{_WORD}])))",
    "B": f"(?:(?<=(?-i:[{_WORD}]))(?=(?-i:[{_WORD}]))|(?<!(?-i:[{_WORD}]))(?!(?-i:[{_WORD}])))",
}
# An inline flag group that may turn on verbose mode, where '#' starts a comment.
_VERBOSE: Final = re.compile(r"\(\?[a-zA-Z-]*x")


def ascii_classes(pattern: str) -> str:
    """*pattern* with ``\\d \\w \\s \\b`` and their negations as the ASCII classes RE2 and
    PCRE mean by them, for the regex package, whose own are Unicode. Inside a character
    class only the positive ones can be spelt out; ``\\D \\W \\S`` stay there as they are
    (Unicode), as does everything in a pattern with a POSIX class (``[:``) or comments
    (``(?#...)``, verbose mode), whose brackets this reading would mistake for a class."""
    if "\\" not in pattern or "[:" in pattern or "(?#" in pattern or _VERBOSE.search(pattern):
        return pattern
    out: list[str] = []
    after_class = False  # the token before was a class spelt out inside a class
    for token, in_class in _tokens(pattern):
        spelt = (_IN_CLASS if in_class else _OUTSIDE_CLASS).get(token[1]) if len(token) == 2 else None
        if spelt is None and token == "-" and after_class:
            spelt = "\\-"  # '-' after a class ([\\s-x]) is a character, not a range: so it stays
        out.append(token if spelt is None else spelt)
        after_class = in_class and len(token) == 2 and token[1] in _IN_CLASS
    return "".join(out)


def _tokens(pattern: str) -> Iterator[tuple[str, bool]]:
    """The tokens of *pattern* (an escape with its character, or one character), each
    with whether it is inside a character class."""
    index, length, in_class = 0, len(pattern), False
    while index < length:
        char = pattern[index]
        if char == "\\":
            yield pattern[index:index + 2], in_class
            index += 2
            continue
        yield char, in_class
        index += 1
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member, not the end of the class.
            for opener in "^]":
                if index < length and pattern[index] == opener:
                    yield opener, True
                    index += 1


def escape(text: str) -> str:
    """*text* as a pattern that matches it literally (in both engines)."""
    return "".join("\\" + c if c in _SPECIAL else c for c in text)


def _has_dollar(pattern: str) -> bool:
    """Does *pattern* hold an unescaped ``$`` outside character classes?"""
    return any(token == "$" and not in_class for token, in_class in _tokens(pattern))


def _pcre_dollar_search(search: Callable[[str], Any], exact: Callable[[str], Any]) -> Callable[[str], Any]:
    """RE2's *search*, completed by the *exact* engine for texts ending in a newline."""

    def run(text: str) -> Any:
        found = search(text)
        if found is None and text.endswith("\n"):
            found = exact(text)
        return found

    return run


def _timed(method: Callable[..., Any], pattern: str) -> Callable[[str], Any]:
    def run(text: str) -> Any:
        try:
            return method(text, timeout=REGEX_TIMEOUT_SECONDS)
        except TimeoutError:
            raise RegexTimeout(pattern) from None

    return run


@functools.lru_cache(maxsize=8192)
def compile_regex(pattern: str, flags: frozenset[SigmaRegularExpressionFlag] = frozenset()) -> CompiledRegex:
    """Compile *pattern* with Sigma's *flags*, on RE2 if it can, else with a timeout.

    Raises RegexCompileError when neither engine accepts the pattern.
    """
    inline = "".join(sorted(_INLINE_FLAGS[f] for f in flags))
    prefix = f"(?{inline})" if inline else ""
    try:
        compiled = re2.compile(prefix + pattern, _RE2_OPTIONS)
    except re2.error:
        pass
    else:
        search = compiled.search
        if SigmaRegularExpressionFlag.MULTILINE not in flags and _has_dollar(pattern):
            try:
                exact = backtracking.compile(prefix + ascii_classes(pattern), backtracking.VERSION0)
            except backtracking.error:
                pass  # RE2-only syntax: RE2's '$' it is
            else:
                search = _pcre_dollar_search(search, _timed(exact.search, pattern))
        return CompiledRegex(pattern, flags, "re2", search, compiled.fullmatch)
    try:
        fallback = backtracking.compile(prefix + ascii_classes(pattern), backtracking.VERSION0)
    except backtracking.error as error:
        raise RegexCompileError(f"invalid regular expression {pattern!r}: {error}") from None
    logger.debug("regex %r runs on the backtracking engine (RE2 does not support it)", pattern)
    return CompiledRegex(
        pattern, flags, "regex", _timed(fallback.search, pattern), _timed(fallback.fullmatch, pattern)
    )

