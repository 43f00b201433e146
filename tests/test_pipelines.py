"""Each pipeline's field mappings, value conversions and field-policy branches."""

from __future__ import annotations

import pytest

from sigmakit.conversion import Status
from sigmakit.pipelines import TARGETS, data_source, load_pipeline

from conftest import convert_text, process_rule

BASE = {
    "sysmon": 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 ',
    "security_4688": 'source="XmlWinEventLog:Security" EventCode=4688 ',
    "crowdstrike": 'sourcetype="crowdstrike:events:sensor" '
    "(event_simpleName=ProcessRollup2 OR event_simpleName=SyntheticProcessRollup2) event_platform=Win ",
}


def condition(target: str, detection: str) -> str:
    """The rule's own part of the search: the tstats where clause, or what follows the base search."""
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.CONVERTED, result.error
    first_line = result.query.splitlines()[0]
    if target == "cim":
        return first_line.split(" where ", 1)[1].split(" by Processes.dest", 1)[0]
    assert first_line.startswith(BASE[target])
    return first_line[len(BASE[target]):]


MAPPED = [
    # (target, detection, expected condition)
    ("cim", "sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel", "Processes.process_name=cmd.exe"),
    ("cim", "sel:\n    Image|endswith: 'cmd.exe'\ncondition: sel", "Processes.process_name=*cmd.exe"),
    ("cim", "sel:\n    Image: 'C:\\Windows\\cmd.exe'\ncondition: sel", 'Processes.process_path="C:\\\\Windows\\\\cmd.exe"'),
    ("cim", "sel:\n    Image|contains: '\\Temp\\'\ncondition: sel", 'Processes.process_path="*\\\\Temp\\\\*"'),
    ("cim", "sel:\n    Image|endswith:\n        - '\\a.exe'\n        - '\\Temp\\b.exe'\ncondition: sel",
     'Processes.process_name=a.exe OR Processes.process_path="*\\\\Temp\\\\b.exe"'),
    ("cim", "sel:\n    ParentImage|endswith: '\\explorer.exe'\ncondition: sel", "Processes.parent_process_name=explorer.exe"),
    ("cim", "sel:\n    ParentImage|startswith: 'C:\\Users\\'\ncondition: sel", 'Processes.parent_process_path="C:\\\\Users\\\\*"'),
    ("cim", "sel:\n    OriginalFileName: 'x.exe'\ncondition: sel", "Processes.original_file_name=x.exe"),
    ("cim", "sel:\n    CommandLine|contains: ' -enc '\ncondition: sel", 'Processes.process="* -enc *"'),
    ("cim", "sel:\n    ParentCommandLine|contains: 'x'\ncondition: sel", "Processes.parent_process=*x*"),
    ("cim", "sel:\n    CurrentDirectory: 'C:\\'\ncondition: sel", 'Processes.process_current_directory="C:\\\\"'),
    ("cim", "sel:\n    IntegrityLevel: High\ncondition: sel", "Processes.process_integrity_level=high"),
    ("cim", "sel:\n    ProcessId: 4\n    ParentProcessId: 8\ncondition: sel", "Processes.process_id=4 Processes.parent_process_id=8"),
    ("cim", "sel:\n    ProcessGuid: '{A}'\n    ParentProcessGuid: '{B}'\ncondition: sel",
     'Processes.process_guid="{A}" Processes.parent_process_guid="{B}"'),
    ("cim", "sel:\n    User|contains: 'AUTHORI'\ncondition: sel", "Processes.user=*AUTHORI*"),
    ("cim", "sel:\n    Computer: host1\ncondition: sel", "Processes.dest=host1"),
    ("cim", "sel:\n    Hashes|contains: 'MD5=F4F684066175B77E0C3A000549D2922C'\ncondition: sel",
     "Processes.process_hash=*F4F684066175B77E0C3A000549D2922C*"),
    ("sysmon", "sel:\n    Image|endswith: '\\cmd.exe'\n    Description: Foo\ncondition: sel", 'Image="*\\\\cmd.exe" Description=Foo'),
    ("security_4688", "sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel", 'NewProcessName="*\\\\cmd.exe"'),
    ("security_4688", "sel:\n    CommandLine|contains: 'x'\ncondition: sel", "CommandLine=*x*"),
    ("security_4688", "sel:\n    ParentImage|endswith: '\\cmd.exe'\ncondition: sel", 'ParentProcessName="*\\\\cmd.exe"'),
    ("security_4688", "sel:\n    ProcessId: 3464\n    ParentProcessId: 4\ncondition: sel", "NewProcessId=0xd88 ProcessId=0x4"),
    ("security_4688", "sel:\n    LogonId: '0x3E7'\ncondition: sel", "SubjectLogonId=0x3e7"),
    ("security_4688", "sel:\n    User: 'NT AUTHORITY\\SYSTEM'\ncondition: sel", 'SubjectDomainName="NT AUTHORITY" SubjectUserName=SYSTEM'),
    ("security_4688", "sel:\n    User|contains: 'AUTHORI'\ncondition: sel", "(SubjectDomainName=*AUTHORI* OR SubjectUserName=*AUTHORI*)"),
    ("security_4688", "sel:\n    User|endswith: '\\admin'\ncondition: sel", 'SubjectDomainName=* SubjectUserName=admin'),
    ("security_4688", "sel:\n    User|endswith: 'admin'\ncondition: sel", "SubjectUserName=*admin"),
    ("security_4688", "sel:\n    User|startswith: 'CORP'\ncondition: sel", "SubjectDomainName=CORP*"),
    ("security_4688", "sel:\n    IntegrityLevel:\n        - High\n        - System\ncondition: sel",
     "(MandatoryLabel=S-1-16-12288 OR MandatoryLabel=S-1-16-16384)"),
    ("security_4688", "sel:\n    Computer: host1\ncondition: sel", "Computer=host1"),
    ("crowdstrike", "sel:\n    Image|endswith: '\\cmd.exe'\ncondition: sel", 'ImageFileName="*\\\\cmd.exe"'),
    ("crowdstrike", "sel:\n    Image|startswith: '\\\\\\\\server\\share\\'\ncondition: sel",
     'ImageFileName="\\\\Device\\\\Mup\\\\server\\\\share\\\\*"'),
    ("crowdstrike", "sel:\n    ParentImage|endswith: '\\explorer.exe'\ncondition: sel", "ParentBaseFileName=explorer.exe"),
    ("crowdstrike", "sel:\n    ProcessId: 4\ncondition: sel", "RawProcessId=4"),
    ("crowdstrike", "sel:\n    IntegrityLevel: High\ncondition: sel", "IntegrityLevel=12288"),
    ("crowdstrike", "sel:\n    Hashes|contains: 'SHA256=AB12'\ncondition: sel", "SHA256HashData=AB12*"),
    ("crowdstrike", "sel:\n    Hashes|contains: 'MD5=AB12'\ncondition: sel", "MD5HashData=AB12*"),
    ("crowdstrike", "sel:\n    sha1: 'AB12'\ncondition: sel", "SHA1HashData=AB12"),
]


@pytest.mark.parametrize("target,detection,expected", MAPPED)
def test_field_mapping(target: str, detection: str, expected: str) -> None:
    assert condition(target, detection) == expected


def test_crowdstrike_drive_path_becomes_any_volume_with_exact_regex_and_warning() -> None:
    result = convert_text(process_rule("sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\ncondition: sel"), "crowdstrike")
    assert result.status is Status.CONVERTED
    assert 'ImageFileName="\\\\Device\\\\HarddiskVolume*\\\\Windows\\\\System32\\\\cmd.exe"' in result.query
    assert result.warnings == [
        "ImageFileName: drive C: cannot be tied to a volume in CrowdStrike device paths; "
        "any \\Device\\HarddiskVolumeN\\ root is accepted"
    ]


UNAVAILABLE = [
    ("cim", "Description", "the CIM Endpoint.Processes data model"),
    ("security_4688", "OriginalFileName", "Windows Security 4688 events"),
    ("security_4688", "ParentCommandLine", "Windows Security 4688 events"),
    ("security_4688", "Hashes", "Windows Security 4688 events"),
    ("crowdstrike", "OriginalFileName", "CrowdStrike FDR ProcessRollup2 events"),
    ("crowdstrike", "ParentCommandLine", "CrowdStrike FDR ProcessRollup2 events"),
    ("crowdstrike", "User", "CrowdStrike FDR ProcessRollup2 events"),
]


@pytest.mark.parametrize("target,field,source", UNAVAILABLE)
def test_policy_or_alternative_is_dropped_with_warning(target: str, field: str, source: str) -> None:
    detection = f"sel:\n    - Image|endswith: '\\x.exe'\n    - {field}: 'x'\ncondition: sel"
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.CONVERTED
    assert f"{field}=" not in result.query
    assert result.warnings == [
        f"{field} is not a field of {source}: dropped that test from selection 'sel' (the search can only match less)"
    ]


@pytest.mark.parametrize("target,field,source", UNAVAILABLE)
def test_policy_refuses_under_not(target: str, field: str, source: str) -> None:
    detection = f"sel:\n    Image|endswith: '\\x.exe'\nfilter:\n    {field}: 'x'\ncondition: sel and not filter"
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.REFUSED
    assert result.query is None and result.warnings == []
    assert result.error == (
        f"{field} is not a field of {source}; selection 'filter' uses it under 'not', where leaving it out "
        "would make the search match more, so the rule is refused for this target"
    )


@pytest.mark.parametrize("target,field,source", UNAVAILABLE)
def test_policy_refuses_when_required_under_and(target: str, field: str, source: str) -> None:
    detection = f"sel:\n    Image|endswith: '\\x.exe'\n    {field}: 'x'\ncondition: sel"
    result = convert_text(process_rule(detection), target)
    assert result.status is Status.REFUSED
    assert result.error == f"the rule cannot match in {source}: {field} is not a field of {source}"


def test_a_refusal_names_three_reasons_and_counts_the_rest() -> None:
    values = "".join(f"\n      - 'IMPHASH={n}A{n}'" for n in range(5))
    result = convert_text(process_rule(f"sel:\n    Hashes|contains:{values}\ncondition: sel"), "crowdstrike")
    assert result.status is Status.REFUSED
    source = "CrowdStrike FDR ProcessRollup2 events"
    reason = "Hashes value '*IMPHASH={0}A{0}*' cannot be expressed with the fields of " + source + \
        " (MD5HashData, SHA1HashData, SHA256HashData)"
    assert result.error == (f"the rule cannot match in {source}: "
                            + "; ".join(reason.format(n) for n in range(3)) + "; and 2 more")


def test_policy_drops_a_whole_selection_inside_or_and_rewrites_the_condition() -> None:
    detection = (
        "sel_a:\n    Description: foo\nsel_b:\n    Image|endswith: '\\x.exe'\n"
        "sel_c:\n    CommandLine|contains: evil\ncondition: (1 of sel_a or sel_b) and sel_c"
    )
    result = convert_text(process_rule(detection), "security_4688")
    assert result.status is Status.CONVERTED
    assert result.query.splitlines()[0] == BASE["security_4688"] + 'NewProcessName="*\\\\x.exe" CommandLine=*evil*'


def test_policy_keeps_the_other_values_of_a_partly_unavailable_list() -> None:
    detection = "sel:\n    ParentImage|endswith:\n        - '\\cmd.exe'\n        - '\\Temp\\x.exe'\ncondition: sel"
    result = convert_text(process_rule(detection), "crowdstrike")
    assert result.status is Status.CONVERTED
    assert result.query.splitlines()[0] == BASE["crowdstrike"] + "ParentBaseFileName=cmd.exe"
    assert result.warnings == [
        "ParentImage value '*\\\\Temp\\\\x.exe' cannot be expressed with the fields of CrowdStrike FDR "
        "ProcessRollup2 events (ParentBaseFileName): dropped that test from selection 'sel' (the search can only match less)"
    ]


@pytest.mark.parametrize("target", ["cim", "security_4688", "crowdstrike"])
def test_out_of_scope_is_skipped(target: str) -> None:
    rule = (
        "title: File rule\nlogsource:\n    category: file_event\n    product: windows\n"
        "detection:\n    sel:\n        TargetFilename|endswith: '.exe'\n    condition: sel\n"
    )
    result = convert_text(rule, target)
    assert result.status is Status.SKIPPED
    assert result.error.startswith("log source {category: file_event, product: windows} is not carried by ")


def test_sysmon_covers_every_sysmon_category_with_its_event_code() -> None:
    rule = (
        "title: File rule\nlogsource:\n    category: registry_event\n    product: windows\n"
        "detection:\n    sel:\n        TargetObject|contains: 'Run'\n    condition: sel\n"
    )
    result = convert_text(rule, "sysmon")
    assert result.query.splitlines()[0] == (
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" '
        "(EventCode=12 OR EventCode=13 OR EventCode=14) TargetObject=*Run*"
    )
    linux = rule.replace("product: windows", "product: linux")
    assert convert_text(linux, "sysmon").status is Status.SKIPPED


def test_data_sources_are_described_by_their_pipelines() -> None:
    for target in TARGETS:
        source = data_source(target)
        assert load_pipeline(target).name == source.pipeline_name
        assert source.covered_categories[0] == "process_creation"
    assert data_source("cim").data_model == "Endpoint.Processes"
    assert data_source("sysmon").base_conditions == {"source": "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"}
    assert data_source("security_4688").event_code_field == "EventCode"
    fields = {row.sigma_field: [m.field for m in row.mappings] for row in data_source("cim").field_rows}
    assert fields["Image"] == ["Processes.process_name", "Processes.process_path"]
