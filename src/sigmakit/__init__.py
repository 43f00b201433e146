"""sigmakit: write a detection once as a Sigma rule; get correct Splunk SPL for every
process-creation data source, Splunk ES content around it, and local proof that it works.

The public API, one name per step of the data flow::

    import sigmakit

    rules = sigmakit.load_rules(["sigma_rules"])               # rules (file, folder or text)
    results = sigmakit.convert_rules(rules)                     # SPL per rule and target
    matcher = sigmakit.Matcher.compile(rules, target="sysmon")  # rules as predicates
    hits = list(matcher.match(sigmakit.read_events(["events.xml"])))
    report = sigmakit.run_rule_tests(["sigma_rules"])           # the rules' own tests
    checked = sigmakit.verify(rules, sigmakit.read_events(["events.xml"]))  # SPL vs matcher
    sigmakit.build_app(rules, "dist")                            # the Splunk ES app

Every error sigmakit raises is a ``SigmakitError`` carrying the file, line and rule id
it concerns. The library logs through the ``sigmakit`` logger and never prints.
"""

import logging

from sigmakit.conversion import ConversionResult, Converter, Status, convert_rules
from sigmakit.errors import (
    EventError,
    Location,
    MetadataError,
    OutOfScopeError,
    OutputError,
    PipelineError,
    RefusedError,
    RuleError,
    RuleTestError,
    SigmakitError,
    UnsupportedFeatureError,
    UsageError,
)
from sigmakit.events import Event, ReadLog, read_events, to_cim_record
from sigmakit.matching import CorrelationHit, Hit, Matcher
from sigmakit.output.app import build_app
from sigmakit.pipelines import TARGETS, data_source, load_pipeline
from sigmakit.rules import LoadedRule, RuleSet, load_rule_text, load_rules
from sigmakit.rules.checks import check_rules
from sigmakit.verification.rule_test_runner import RuleTestReport, run_rule_tests
from sigmakit.verification.verify import VerifyReport, verify

logging.getLogger(__name__).addHandler(logging.NullHandler())

from sigmakit._version import __version__  # noqa: E402  (re-exported)

__all__ = [
    "TARGETS",
    "ConversionResult",
    "Converter",
    "CorrelationHit",
    "Event",
    "EventError",
    "Hit",
    "LoadedRule",
    "Location",
    "Matcher",
    "MetadataError",
    "OutOfScopeError",
    "OutputError",
    "PipelineError",
    "ReadLog",
    "RefusedError",
    "RuleError",
    "RuleSet",
    "RuleTestError",
    "RuleTestReport",
    "SigmakitError",
    "Status",
    "UnsupportedFeatureError",
    "UsageError",
    "VerifyReport",
    "__version__",
    "build_app",
    "check_rules",
    "convert_rules",
    "data_source",
    "load_pipeline",
    "load_rule_text",
    "load_rules",
    "read_events",
    "run_rule_tests",
    "to_cim_record",
    "verify",
]
