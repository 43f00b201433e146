"""Verification: local proof that a rule and its SPL catch what they should.

``verification.spl`` evaluates SPL text over events without Splunk; the rest of the
package compares it with the matcher, rule by rule and target by target.
"""
