"""sigmakit's pipelines as pySigma plugins, used from sigma-cli."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DISKSHADOW


def sigma(*args: str) -> subprocess.CompletedProcess[str]:
    beside_python = Path(sys.executable).parent / "sigma"
    executable = str(beside_python) if beside_python.exists() else shutil.which("sigma")
    if executable is None:
        pytest.skip("sigma-cli is not installed (pip install '.[test]')")
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=120, check=False)


def test_sigma_lists_the_four_pipelines() -> None:
    listed = sigma("list", "pipelines")
    assert listed.returncode == 0, listed.stderr
    for name in ("sigmakit_cim", "sigmakit_sysmon", "sigmakit_security_4688", "sigmakit_crowdstrike"):
        assert name in listed.stdout


def test_sigma_convert_uses_the_cim_pipeline() -> None:
    converted = sigma("convert", "-t", "splunk", "-p", "sigmakit_cim", str(DISKSHADOW))
    assert converted.returncode == 0, converted.stderr
    assert converted.stdout.strip() == (
        'Processes.process_name="diskshadow.exe" OR Processes.original_file_name="diskshadow.exe" '
        'Processes.process IN ("*-s*", "*/s*")'
    )


def test_sigma_convert_4688_applies_the_field_policy() -> None:
    converted = sigma("convert", "-t", "splunk", "-p", "sigmakit_security_4688", str(DISKSHADOW))
    assert converted.returncode == 0, converted.stderr
    assert converted.stdout.strip() == (
        'source="XmlWinEventLog:Security" EventCode=4688 NewProcessName="*\\\\diskshadow.exe" '
        'CommandLine IN ("*-s*", "*/s*")'
    )


def test_plugin_module_exposes_pipelines() -> None:
    from sigma.plugins import InstalledSigmaPlugins

    plugins = InstalledSigmaPlugins.autodiscover()
    assert {"sigmakit_cim", "sigmakit_crowdstrike"} <= set(plugins.pipelines)
    assert sys.modules.get("sigma.pipelines.sigmakit") is not None
