"""sigmakit's data-source pipelines as pySigma plugins (``sigma list pipelines``).

pySigma discovers pipeline plugins only inside the ``sigma.pipelines`` namespace package;
this module exposes sigmakit's four pipelines there, prefixed with ``sigmakit_`` because
``sysmon`` already belongs to pysigma-pipeline-sysmon.
"""

from sigma.processing.pipeline import ProcessingPipeline

from sigmakit.pipelines import load_pipeline


def sigmakit_cim() -> ProcessingPipeline:
    """Sigma process_creation onto CIM Endpoint.Processes (Processes.* fields)."""
    return load_pipeline("cim")


def sigmakit_sysmon() -> ProcessingPipeline:
    """Sigma Windows rules onto Sysmon events as XmlWinEventLog (source and EventCode)."""
    return load_pipeline("sysmon")


def sigmakit_security_4688() -> ProcessingPipeline:
    """Sigma process_creation onto Windows Security 4688 events as XmlWinEventLog."""
    return load_pipeline("security_4688")


def sigmakit_crowdstrike() -> ProcessingPipeline:
    """Sigma process_creation onto CrowdStrike FDR ProcessRollup2 events."""
    return load_pipeline("crowdstrike")


pipelines = {
    "sigmakit_cim": sigmakit_cim,
    "sigmakit_sysmon": sigmakit_sysmon,
    "sigmakit_security_4688": sigmakit_security_4688,
    "sigmakit_crowdstrike": sigmakit_crowdstrike,
}

__all__ = ["pipelines"]
