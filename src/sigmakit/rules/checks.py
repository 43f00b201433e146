"""Rule checks: pySigma's validators plus sigmakit's own, as one list of located issues.

sigmakit's own checks: the rule carries valid Splunk ES metadata, it has a rule-test file
beside it, its filter macro name is valid and unique, and its ATT&CK tags are known. The
ATT&CK check uses pySigma's ATT&CK data, which pySigma downloads from MITRE on first use;
offline, a local copy of MITRE's ``enterprise-attack.json`` can be given instead, and
without either the tags are checked for form only, and an informational issue says so.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Final, Iterable

from sigma.rule import SigmaRule
from sigma.validators.base import SigmaValidationIssue, SigmaValidationIssueSeverity
from sigma.validators.core import validators as pysigma_validators

from sigmakit.errors import Location
from sigmakit.rules.loader import LoadedRule, RuleSet, test_file_for
from sigmakit.rules.metadata import METADATA_KEY

logger = logging.getLogger(__name__)


class Severity(str, Enum):
    INFORMATIONAL = "informational"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


_FROM_PYSIGMA: Final = {
    SigmaValidationIssueSeverity.LOW: Severity.LOW,
    SigmaValidationIssueSeverity.MEDIUM: Severity.MEDIUM,
    SigmaValidationIssueSeverity.HIGH: Severity.HIGH,
}

# Validators left out: the TLP v1/v2 pair contradict each other (the combined ``tlp_tag``
# stays), and the ATT&CK/D3FEND ones need downloaded data, handled by _attack_checks.
_EXCLUDED: Final = frozenset({"tlpv1_tag", "tlpv2_tag", "attacktag", "d3_fendtag"})
_MACRO_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_ATTACK_ID: Final = re.compile(r"^(t\d{4}(\.\d{3})?|g\d{4}|s\d{4}|m\d{4}|ds\d{4})$")
_ATTACK_TAG: Final = re.compile(r"^attack\.(t\d{4}(\.\d{3})?|g\d{4}|s\d{4}|m\d{4}|ds\d{4}|[a-z]+(-[a-z]+)*)$")
ATTACK_TACTICS: Final = frozenset({
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
    "collection", "command-and-control", "exfiltration", "impact",
    # ATT&CK v18 split Defense Evasion into these two; SigmaHQ rules already use them.
    "stealth", "defense-impairment",
})


@dataclass(frozen=True)
class CheckIssue:
    """One finding about one rule (or about the set of rules)."""

    check: str
    severity: Severity
    message: str
    location: Location
    rule_id: str | None = None

    def __str__(self) -> str:
        rule = f" (rule {self.rule_id})" if self.rule_id else ""
        where = str(self.location) if self.location.path else "(all rules)"
        return f"{where}: {self.severity.value}: {self.check}: {self.message}{rule}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.location.path,
            "line": self.location.line,
            "rule_id": self.rule_id,
        }


def _issue_text(issue: SigmaValidationIssue) -> str:
    extra = [f"{name}={value}" for name, value in issue.__dict__.items()
             if name not in ("rules", "severity", "description") and value is not None and str(value) != ""]
    return issue.description + (f" ({', '.join(extra)})" if extra else "")


def _pysigma_checks(rules: list[LoadedRule]) -> list[CheckIssue]:
    instances = [(name, cls()) for name, cls in sorted(pysigma_validators.items()) if name not in _EXCLUDED]
    by_object: dict[int, LoadedRule] = {}
    parsed: list[tuple[LoadedRule, SigmaRule]] = []
    for rule in rules:
        sigma_rule = rule.parse()
        if isinstance(sigma_rule, SigmaRule):
            by_object[id(sigma_rule)] = rule
            parsed.append((rule, sigma_rule))
    issues: list[CheckIssue] = []

    def record(name: str, found: Iterable[SigmaValidationIssue]) -> None:
        for issue in found:
            for sigma_rule in issue.rules or [None]:
                owner = by_object.get(id(sigma_rule)) if sigma_rule is not None else None
                issues.append(CheckIssue(
                    name, _FROM_PYSIGMA[issue.severity], _issue_text(issue),
                    owner.location if owner else Location(None), owner.id if owner else None,
                ))

    for name, validator in instances:
        for _, sigma_rule in parsed:
            record(name, validator.validate(sigma_rule))
        record(name, validator.finalize())
    return issues


def _attack_checks(rules: list[LoadedRule], attack_data: Path | None) -> list[CheckIssue]:
    known = _known_attack_tags(attack_data)
    issues: list[CheckIssue] = []
    if known is None:
        issues.append(CheckIssue(
            "attack_tag", Severity.INFORMATIONAL,
            "ATT&CK technique ids were checked for form only: MITRE's ATT&CK data could not be "
            "loaded (offline?); pass --attack-data enterprise-attack.json to check them",
            Location(None),
        ))
    for rule in rules:
        for index, tag in enumerate(rule.data.get("tags") or []):
            text = str(tag).lower()
            if not text.startswith("attack."):
                continue
            line = rule.positions.line_of(("tags", index))
            name = text.split(".", 1)[1]
            if not _ATTACK_TAG.match(text):
                problem = "is not an ATT&CK tag (attack.tNNNN, attack.tNNNN.NNN, attack.gNNNN, attack.sNNNN or a tactic)"
            elif known is not None and name not in known:
                problem = "is not in MITRE ATT&CK"
            elif known is None and not _ATTACK_ID.match(name) and name not in ATTACK_TACTICS:
                problem = "is not an ATT&CK tactic"
            else:
                continue
            issues.append(CheckIssue("attack_tag", Severity.MEDIUM, f"tag {tag!r} {problem}",
                                     Location.of(rule.path, line), rule.id))
    return issues


def _known_attack_tags(attack_data: Path | None) -> set[str] | None:
    from sigma.data import mitre_attack

    try:
        if attack_data is not None:
            mitre_attack.set_url(str(attack_data))
        tactics = {name.lower().replace(" ", "-") for name in mitre_attack.mitre_attack_tactics.values()}
        names = set(mitre_attack.mitre_attack_techniques) | set(mitre_attack.mitre_attack_intrusion_sets)
        names |= set(mitre_attack.mitre_attack_software) | set(mitre_attack.mitre_attack_mitigations)
    except RuntimeError as error:
        logger.info("ATT&CK data unavailable: %s", error)
        return None
    return tactics | {name.lower() for name in names}


def _sigmakit_checks(rules: list[LoadedRule]) -> list[CheckIssue]:
    issues: list[CheckIssue] = []
    macros: dict[str, list[LoadedRule]] = defaultdict(list)
    for rule in rules:
        if rule.is_correlation:
            continue
        if rule.metadata is None:
            issues.append(CheckIssue(
                "es_metadata", Severity.MEDIUM,
                f"no {METADATA_KEY} block: sigmakit build cannot make an ES correlation search with "
                "risk and notable settings for it", rule.location, rule.id,
            ))
        if test_file_for(rule.path) is None:
            issues.append(CheckIssue(
                "rule_tests", Severity.MEDIUM,
                f"no rule test file {rule.path.stem}.tests.yml beside the rule", rule.location, rule.id,
            ))
        macro = rule.filter_macro
        if not _MACRO_NAME.match(macro):
            issues.append(CheckIssue(
                "filter_macro", Severity.HIGH,
                f"the title gives the filter macro name {macro!r}, which is not a valid macro name "
                "(start the title with a letter)", rule.location, rule.id,
            ))
        macros[macro].append(rule)
    for macro, owners in macros.items():
        if len(owners) > 1:
            for rule in owners:
                others = ", ".join(f"{o.path}" for o in owners if o is not rule)
                issues.append(CheckIssue(
                    "filter_macro", Severity.HIGH,
                    f"filter macro {macro!r} is shared with {others}: rules need distinct titles",
                    rule.location, rule.id,
                ))
    return issues


def check_rules(rules: RuleSet, attack_data: Path | None = None) -> list[CheckIssue]:
    """Every issue found in *rules*: load errors first, then the checks, in file order."""
    issues = [CheckIssue("rule", Severity.HIGH, error.message,
                         error.location or Location(None), error.rule_id) for error in rules.errors]
    loaded = list(rules)
    found = _pysigma_checks(loaded) + _attack_checks(loaded, attack_data) + _sigmakit_checks(loaded)
    found.sort(key=lambda i: (i.location.path or "", i.location.line or 0, i.check))
    return issues + found
