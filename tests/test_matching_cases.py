"""Every rule+event case from public matcher bug reports (../shared/cases/sigma_matching.yaml)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sigmakit.matching import Matcher

from conftest import SHARED, shared_path


def _cases() -> list[Any]:
    path = SHARED / "cases" / "sigma_matching.yaml"
    if not path.exists():
        return [pytest.param(None, id="shared-cases-missing")]
    return [pytest.param(case, id=case["id"]) for case in yaml.safe_load(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("case", _cases())
def test_shared_case(case: dict[str, Any] | None) -> None:
    if case is None:
        shared_path("cases", "sigma_matching.yaml")  # skips, saying what is missing
        return
    matcher = Matcher.from_text(case["rule"], path=f"{case['id']}.yml")
    assert not matcher.errors, [str(e) for e in matcher.errors]
    hits = list(matcher.match([case["event"]]))
    assert bool(hits) is case["expected"], case["note"]


def test_all_forty_cases_are_present() -> None:
    path = shared_path("cases", "sigma_matching.yaml")
    assert len(yaml.safe_load(path.read_text(encoding="utf-8"))) == 40
