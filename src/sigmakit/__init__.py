"""sigmakit: write a detection once as a Sigma rule; get correct Splunk SPL for every
process-creation data source, Splunk ES content around it, and local proof that it works.
"""

import logging

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

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "EventError",
    "Location",
    "MetadataError",
    "OutOfScopeError",
    "OutputError",
    "PipelineError",
    "RefusedError",
    "RuleError",
    "RuleTestError",
    "SigmakitError",
    "UnsupportedFeatureError",
    "UsageError",
    "__version__",
]
