"""Rules: finding, reading and validating Sigma rule files and their ES metadata."""

from sigmakit.rules import modifiers as _modifiers  # noqa: F401  (registers the spec's encoding modifiers)
from sigmakit.rules.conditions import merge_conditions
from sigmakit.rules.loader import (
    LoadedRule,
    RuleSet,
    detection_name,
    find_rule_files,
    is_rule_file,
    is_test_file,
    load_rule_file,
    load_rule_text,
    load_rules,
    test_file_for,
)
from sigmakit.rules.metadata import METADATA_KEY, EsMetadata, RiskObject, Schedule, ThreatObject, parse_metadata

__all__ = [
    "METADATA_KEY",
    "EsMetadata",
    "LoadedRule",
    "RiskObject",
    "RuleSet",
    "Schedule",
    "ThreatObject",
    "detection_name",
    "find_rule_files",
    "is_rule_file",
    "is_test_file",
    "load_rule_file",
    "load_rule_text",
    "load_rules",
    "merge_conditions",
    "parse_metadata",
    "test_file_for",
]
