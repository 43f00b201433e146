"""Hostile rule titles, test names and event values cannot break the JUnit report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigmakit.cli.main import cli

HOSTILE = st.lists(
    st.sampled_from(list("ab <>&\"'`$|[]\\\n\r\t\x00\x01\x0b\x1b\x7f\u2028\ud7ff\ufffe-") + ["]]>", "<!--", "&amp;"]),
    min_size=1, max_size=12,
).map("".join).filter(lambda s: s.strip() != "")


def visible(text: str) -> str:
    """What the report shows for *text*: characters XML cannot hold as backslash escapes."""
    allowed = lambda c: c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"
    return "".join(c if allowed(c) else c.encode("unicode_escape").decode("ascii") for c in text)


def write_rule_and_test(folder: Path, title: str, case_name: str, value: str) -> None:
    rule = {
        "title": title, "id": "00000000-0000-0000-0000-0000000000aa",
        "logsource": {"category": "process_creation", "product": "windows"},
        "detection": {"sel": {"CommandLine|contains": "evil"}, "condition": "sel"},
    }
    (folder / "hostile.yml").write_text(yaml.safe_dump(rule, allow_unicode=True))
    tests = {"tests": [{
        "name": case_name, "source": "sigma", "hits": 2,  # wrong on purpose: the failure message quotes the event
        "events": [{"CommandLine": "evil " + value}],
    }]}
    (folder / "hostile.tests.yml").write_text(yaml.safe_dump(tests, allow_unicode=True))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=HOSTILE, case_name=HOSTILE, value=HOSTILE)
def test_junit_report_parses_and_keeps_the_names(tmp_path: Path, title: str, case_name: str, value: str) -> None:
    folder = tmp_path / f"r{abs(hash((title, case_name, value)))}"
    folder.mkdir(exist_ok=True)
    write_rule_and_test(folder, title, case_name, value)
    junit = folder / "report.xml"
    result = CliRunner().invoke(cli, ["test", str(folder), "--junit", str(junit), "--json"])
    assert result.exit_code == 1, result.stderr
    root = ElementTree.parse(junit).getroot()  # raises on malformed XML
    cases = root.findall(".//testcase")
    assert len(cases) == 1
    assert len(cases[0].findall("failure")) == 1
    assert cases[0].get("name") == visible(case_name.strip())  # test names are stripped
    assert root.find("testsuite").get("name") == visible(title)
    report = json.loads(result.stdout)
    assert report["failed"] == 1
