"""Conversion: Sigma rules to Splunk SPL through a data source's pipeline."""

from sigmakit.conversion.backend import CIM_BY_FIELDS, SigmakitSplunkBackend, filter_macro_for
from sigmakit.conversion.convert import ConversionResult, Converter, Status, convert_rules

__all__ = [
    "CIM_BY_FIELDS",
    "ConversionResult",
    "Converter",
    "SigmakitSplunkBackend",
    "Status",
    "convert_rules",
    "filter_macro_for",
]
