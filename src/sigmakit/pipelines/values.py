"""Value conversions a data source needs when a Sigma field is mapped onto its own field.

A converter takes one Sigma value (after modifiers) and returns what to match in the data
source's field instead: a replacement value, a small boolean group of terms on several
fields, or None when this value cannot be expressed by that mapping (the field map then
tries its next mapping, and if none fits the value is treated as unavailable).

Every converter is exact: the converted match accepts the same events as the original,
except where a docstring states a documented, warned approximation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Final, Union

from sigma.conditions import ConditionAND, ConditionOR
from sigma.types import (
    SigmaCasedString,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

WILDCARD: Final = SpecialChars.WILDCARD_MULTI
SINGLE: Final = SpecialChars.WILDCARD_SINGLE


@dataclass
class Term:
    """Match *value* in the data source's field *field*."""

    field: str
    value: SigmaType


@dataclass
class Group:
    """Several terms (or groups) joined by AND or OR."""

    linking: type[ConditionAND] | type[ConditionOR]
    parts: list["Converted"] = field(default_factory=list)


Converted = Union[Term, Group]


@dataclass
class ConversionContext:
    """What a converter knows besides the value: the mapping's options and a warning sink."""

    target_field: str
    options: dict[str, Any]
    warn: Callable[[str], None]


Converter = Callable[[SigmaType, ConversionContext], "Converted | None"]


def _parts(value: SigmaString) -> list[Any]:
    return list(value.s)


def _string_like(value: SigmaString, parts: list[Any]) -> SigmaString:
    """A SigmaString of the same class as *value* (cased stays cased) built from parts."""
    result = SigmaCasedString() if isinstance(value, SigmaCasedString) else SigmaString()
    result.s = [part for part in parts if part != ""]
    result.original = "".join(p if isinstance(p, str) else "*" for p in result.s)
    return result


def _has_wildcard(parts: list[Any]) -> bool:
    return any(part in (WILDCARD, SINGLE) for part in parts)


def rename(value: SigmaType, context: ConversionContext) -> Converted | None:
    """The value as it is: only the field name changes."""
    return Term(context.target_field, value)


def basename(value: SigmaType, context: ConversionContext) -> Converted | None:
    """A path pattern that only constrains the file name, as a pattern on the file name alone.

    ``*\\name.exe`` becomes ``name.exe`` and ``*name.exe`` (no backslash) stays ``*name.exe``:
    both are exact, because a file name holds no backslash. Anything that constrains the
    folder (a full path, a ``\\folder\\`` fragment, a regex) is not a file-name match.
    """
    if not isinstance(value, SigmaString):
        return None
    parts = _parts(value)
    if len(parts) < 2 or parts[0] != WILDCARD or WILDCARD in parts[1:]:
        return None
    rest = parts[1:]
    text_parts = [part for part in rest if isinstance(part, str)]
    if any(not isinstance(p, (str, SpecialChars)) for p in rest):
        return None
    first = rest[0]
    if isinstance(first, str) and first.startswith("\\"):
        stripped = first[1:]
        if "\\" in stripped or any("\\" in p for p in text_parts[1:]):
            return None
        new_parts = [stripped, *rest[1:]]
        if not any(p != "" for p in new_parts):
            return None
        return Term(context.target_field, _string_like(value, new_parts))
    if any("\\" in p for p in text_parts) or SINGLE in rest[:1]:
        # ``*?name``: the single-character wildcard could stand for the backslash.
        return None
    return Term(context.target_field, value)


def lowercase(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Literal text in lower case, for fields the data model stores in lower case."""
    if isinstance(value, SigmaString):
        parts = [p.lower() if isinstance(p, str) else p for p in _parts(value)]
        return Term(context.target_field, _string_like(value, parts))
    return Term(context.target_field, value)


def _plain_number(value: SigmaType) -> int | None:
    if isinstance(value, SigmaNumber) and isinstance(value.number, int):
        return value.number
    if isinstance(value, SigmaString) and not value.contains_special():
        text = value.to_plain().strip()
        if text.isdigit():
            return int(text)
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
            return int(text, 16)
    return None


def hexadecimal(value: SigmaType, context: ConversionContext) -> Converted | None:
    """A number (process or logon id) as Windows Security events write it: ``0x`` and lower-case hex."""
    number = _plain_number(value)
    if number is None:
        return None
    return Term(context.target_field, SigmaString(f"0x{number:x}"))


_INTEGRITY_RID: Final = {
    "untrusted": 0,
    "low": 4096,
    "appcontainer": 4096,
    "medium": 8192,
    "medium plus": 8448,
    "mediumplus": 8448,
    "high": 12288,
    "system": 16384,
    "protected": 20480,
}


def _integrity_rid(value: SigmaType) -> int | None:
    if not isinstance(value, SigmaString) or value.contains_special():
        return None
    text = value.to_plain().strip().lower()
    if text in _INTEGRITY_RID:
        return _INTEGRITY_RID[text]
    match = re.fullmatch(r"s-1-16-(\d+)", text)
    return int(match.group(1)) if match else None


def integrity_sid(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Sysmon's integrity level name as the mandatory-label SID of 4688 (``S-1-16-12288``)."""
    rid = _integrity_rid(value)
    if rid is None:
        return None
    return Term(context.target_field, SigmaString(f"S-1-16-{rid}"))


def integrity_number(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Sysmon's integrity level name as CrowdStrike's numeric level (``12288`` for High)."""
    rid = _integrity_rid(value)
    if rid is None:
        return None
    return Term(context.target_field, SigmaNumber(rid))


_DRIVE_ROOT: Final = re.compile(r"^[A-Za-z]:\\")


def device_path(value: SigmaType, context: ConversionContext) -> Converted | None:
    """A Windows path pattern as CrowdStrike's device path (``\\Device\\HarddiskVolumeN\\...``).

    Patterns that start with a wildcard (``*\\x.exe``, ``*\\Temp\\*``) need no change. A
    pattern rooted at a drive (``C:\\Windows\\...``, or ``*:\\...``) is rooted at a volume
    instead; which volume holds which drive letter is not in the event, so any volume is
    accepted and a warning says so. The volume number is matched exactly (digits only)
    by a regular expression beside the wildcard search term, so the pattern never widens
    beyond the drive letter. UNC paths (``\\\\server\\share``) become ``\\Device\\Mup\\...``.
    """
    if not isinstance(value, SigmaString):
        return Term(context.target_field, value) if not isinstance(value, SigmaRegularExpression) else None
    parts = _parts(value)
    if not parts or not isinstance(parts[0], str):
        if len(parts) >= 2 and parts[0] == WILDCARD and isinstance(parts[1], str) and parts[1].startswith(":\\"):
            rest = [parts[1][2:], *parts[2:]]
            return _volume_rooted(value, rest, context, "a wildcard drive letter")
        return Term(context.target_field, value)
    head = parts[0]
    if _DRIVE_ROOT.match(head):
        return _volume_rooted(value, [head[3:], *parts[1:]], context, f"drive {head[:2].upper()}")
    if head.startswith("\\\\") and not head.startswith("\\\\?\\") and not head.startswith("\\\\.\\"):
        return Term(context.target_field, _string_like(value, ["\\Device\\Mup\\" + head[2:], *parts[1:]]))
    if len(head) == 1 and head.isalpha() and len(parts) >= 2 and parts[1] == SINGLE:
        return None
    return Term(context.target_field, value)


def _volume_rooted(value: SigmaString, rest: list[Any], context: ConversionContext, what: str) -> Converted:
    context.warn(
        f"{context.target_field}: {what} cannot be tied to a volume in CrowdStrike device paths; "
        "any \\Device\\HarddiskVolumeN\\ root is accepted"
    )
    prefix = "\\Device\\HarddiskVolume"
    wildcard_term = _string_like(value, [prefix, WILDCARD, "\\", *rest])
    regex = "^" + re.escape(prefix) + r"[0-9]+\\" + _parts_to_regex(rest) + "$"
    expression = SigmaRegularExpression(regex)
    if not isinstance(value, SigmaCasedString):
        expression.add_flag(SigmaRegularExpressionFlag.IGNORECASE)
    return Group(ConditionAND, [Term(context.target_field, wildcard_term), Term(context.target_field, expression)])


def _parts_to_regex(parts: list[Any]) -> str:
    pieces = []
    for part in parts:
        if part == WILDCARD:
            pieces.append(".*")
        elif part == SINGLE:
            pieces.append(".")
        elif isinstance(part, str):
            pieces.append(re.escape(part))
    return "".join(pieces)


def domain_user(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Sysmon's ``DOMAIN\\name`` user as two fields (``domain_field`` and ``user_field``).

    Neither a domain nor an account name can hold a backslash, so a pattern with exactly
    one literal backslash splits there exactly; a pattern without one matches inside the
    account name (``*name``), the domain (``dom*``) or either (``*x*``). Other shapes
    cannot be expressed and return None.
    """
    if not isinstance(value, SigmaString):
        return None
    domain_field = context.options["domain_field"]
    user_field = context.options["user_field"]
    parts = _parts(value)
    backslashes = sum(p.count("\\") for p in parts if isinstance(p, str))
    if backslashes == 1:
        for index, part in enumerate(parts):
            if isinstance(part, str) and "\\" in part:
                left_text, right_text = part.split("\\", 1)
                left = [*parts[:index], left_text]
                right = [right_text, *parts[index + 1:]]
                return Group(ConditionAND, [
                    Term(domain_field, _string_like(value, left or [""])),
                    Term(user_field, _string_like(value, right or [""])),
                ])
    if backslashes > 1:
        return None
    inner = parts[1:-1] if len(parts) >= 2 else []
    if len(parts) >= 2 and parts[0] == WILDCARD and parts[-1] == WILDCARD and not _has_wildcard(inner):
        return Group(ConditionOR, [Term(domain_field, value), Term(user_field, value)])
    if parts and parts[0] == WILDCARD and not _has_wildcard(parts[1:]):
        return Term(user_field, value)
    if parts and parts[-1] == WILDCARD and not _has_wildcard(parts[:-1]):
        return Term(domain_field, value)
    return None


_HASH_NAME: Final = re.compile(r"^([A-Za-z0-9]+)=([0-9A-Fa-f]+)$")


def hash_fields(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Sysmon's ``Hashes`` (``SHA1=..,MD5=..,SHA256=..``) as one field per algorithm.

    ``algorithms`` maps algorithm names (SHA256, MD5, ...) to the data source's fields. A
    value naming an algorithm (``SHA256=ab12...``, with or without surrounding wildcards)
    matches that field exactly; a bare hex fragment matches any of the fields.
    """
    if not isinstance(value, SigmaString):
        return None
    algorithms: dict[str, str] = {k.upper(): v for k, v in context.options["algorithms"].items()}
    parts = _parts(value)
    core = [p for p in parts if p != WILDCARD]
    if len(core) != 1 or not isinstance(core[0], str) or SINGLE in parts:
        return None
    text = core[0]
    named = _HASH_NAME.match(text)
    if named:
        field_name = algorithms.get(named.group(1).upper())
        if field_name is None:
            return None
        # The algorithm name pins the start of the hash; a trailing wildcard (contains,
        # startswith) keeps accepting a hash that begins with the given digits.
        trailing = parts[-1] == WILDCARD
        pattern = [named.group(2)] + ([WILDCARD] if trailing else [])
        return Term(field_name, _string_like(value, pattern))
    if re.fullmatch(r"[0-9A-Fa-f]+", text):
        return Group(ConditionOR, [Term(f, value) for f in sorted(set(algorithms.values()))])
    return None


_DIGEST_LENGTHS: Final = {"MD5": 32, "IMPHASH": 32, "SHA1": 40, "SHA256": 64}


def digest(value: SigmaType, context: ConversionContext) -> Converted | None:
    """Sysmon's ``Hashes`` text as one digest of a multivalue hash field (CIM ``process_hash``).

    The data model holds every digest as a value of its own, named by algorithm or bare,
    depending on the add-on (``MD5=F4F6...`` from Sysmon, the bare SHA256 from CrowdStrike).
    A Sigma value naming one full digest (``MD5=<32 hex digits>``, or bare hex of a digest's
    length, with or without surrounding wildcards) is searched as ``*<digest>*``, which finds
    it in either form; the algorithm name is not checked, as two different algorithms do not
    produce the same digest text in practice. Partial digests and other text return None.
    """
    if not isinstance(value, SigmaString):
        return None
    parts = _parts(value)
    core = [p for p in parts if p != WILDCARD]
    if len(core) != 1 or not isinstance(core[0], str) or SINGLE in parts:
        return None
    named = _HASH_NAME.match(core[0])
    if named:
        algorithm, hex_digits = named.group(1).upper(), named.group(2)
        if _DIGEST_LENGTHS.get(algorithm) != len(hex_digits):
            return None
    elif re.fullmatch(r"[0-9A-Fa-f]+", core[0]) and len(core[0]) in _DIGEST_LENGTHS.values():
        hex_digits = core[0]
    else:
        return None
    return Term(context.target_field, _string_like(value, [WILDCARD, hex_digits, WILDCARD]))


CONVERTERS: Final[dict[str, Converter]] = {
    "rename": rename,
    "basename": basename,
    "lowercase": lowercase,
    "hex": hexadecimal,
    "integrity_sid": integrity_sid,
    "integrity_number": integrity_number,
    "device_path": device_path,
    "domain_user": domain_user,
    "hash_fields": hash_fields,
    "digest": digest,
}
