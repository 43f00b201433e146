"""Verification: local proof that a rule and its SPL catch what they should.

``verification.spl`` evaluates SPL text over events without Splunk; ``verify`` compares it
with the matcher, rule by rule and target by target; ``rule_tests`` and
``rule_test_runner`` check rules against their own test events.
"""
