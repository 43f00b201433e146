"""Issue 4's figures on the shared real data: DiskShadow everywhere, SigmaHQ regression data."""

from __future__ import annotations

import pytest

pytest.importorskip("sigmakit.matching", reason="matching real data needs the matcher (sigmakit.matching)")

from sigmakit.verification.real_data import diskshadow_hits, regression_hits  # noqa: E402

from conftest import DISKSHADOW, shared_path  # noqa: E402

# The one real DiskShadow run in the shared data, and the files that hold a copy of it.
DISKSHADOW_RECORD = 155520909
COPIES = {
    "diskshadow_positives/security_4688_diskshadow_s_shadow_txt.jsonl",
    "diskshadow_positives/security_4688_diskshadow_s_shadow_txt.xml",
    "security_4688/evtx-to-mitre-attack.jsonl",
    "security_4688/evtx-to-mitre-attack.xml",
    "evtx/security_4688_diskshadow_abuse.evtx",
}


@pytest.mark.parametrize("source", ["auto", "cim"])
def test_diskshadow_finds_the_one_real_run_once_in_each_copy_and_nothing_else(source: str) -> None:
    data = shared_path("data")
    results = diskshadow_hits([DISKSHADOW], data, source)
    assert len(results) == 22
    assert all(r.problems == 0 and r.events > 0 for r in results)
    hit_files = {str(r.file.relative_to(data)): r.hits for r in results if r.hits}
    assert set(hit_files) == COPIES
    for hits in hit_files.values():
        (event,) = hits
        assert event.record_id == DISKSHADOW_RECORD
        host = event.fields.get("host") or event.fields.get("Processes.dest")
        assert host == "rootdc1.offsec.lan"


@pytest.mark.corpus
def test_sigma_regression_files_get_their_expected_hits() -> None:
    cases = regression_hits(shared_path("data"), shared_path("corpus", "sigmahq"))
    assert len(cases) == 136
    failures = [(c.rule_title, c.expected, c.hits, c.error) for c in cases
                if not (c.passed("xml/sysmon") and c.passed("json/auto"))]
    assert failures == []
