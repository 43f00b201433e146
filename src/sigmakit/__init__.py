"""sigmakit: write a detection once as a Sigma rule; get correct Splunk SPL for every
process-creation data source, Splunk ES content around it, and local proof that it works.
"""

import logging

from sigmakit.errors import (
    Location,
    MetadataError,
    OutOfScopeError,
    OutputError,
    PipelineError,
    RefusedError,
    RuleError,
    SigmakitError,
    UsageError,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "Location",
    "MetadataError",
    "OutOfScopeError",
    "OutputError",
    "PipelineError",
    "RefusedError",
    "RuleError",
    "SigmakitError",
    "UsageError",
    "__version__",
]
