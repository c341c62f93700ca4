"""Loading and validating policy files: good files load, bad ones are refused by key."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from rules.loader import (
    SHIPPED_POLICIES,
    PolicyErrors,
    PolicySet,
    check_policies,
    load_policies,
    load_policy_file,
)

VOUCHER_2024 = SHIPPED_POLICIES / "LN-CXQ-2024.yaml"
AWARD_2022 = SHIPPED_POLICIES / "LN-AWARD-2022.yaml"


def test_shipped_policies_load(policies: PolicySet) -> None:
    """The shipped files load: two voucher versions and one award version."""
    assert policies.programmes() == ["LN-AWARD", "LN-CXQ"]
    assert [p.version for p in policies.versions("LN-CXQ")] == ["2024.12", "2026.1"]
    assert len(policies) == 3


def test_sha256_is_of_the_file_bytes(policies: PolicySet) -> None:
    """A policy's sha256 is that of its file's bytes (reports print it)."""
    policy = policies.versions("LN-CXQ")[0]
    assert policy.sha256 == hashlib.sha256(VOUCHER_2024.read_bytes()).hexdigest()


def test_amounts_become_fen_and_ratios_decimals(policies: PolicySet) -> None:
    """Yuan in the file is integer fen in the model."""
    model = policies.versions("LN-CXQ")[0].model
    assert model.issuance.per_voucher_cap == 10_000_000  # type: ignore[union-attr]
    assert str(model.services["patent_application"].ratio) == "0.5"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("on", "version"),
    [
        (dt.date(2024, 12, 13), None),
        (dt.date(2024, 12, 14), "2024.12"),
        (dt.date(2025, 12, 31), "2024.12"),
        (dt.date(2026, 1, 1), "2026.1"),
        (dt.date(2040, 1, 1), "2026.1"),
    ],
)
def test_in_force_picks_the_version_covering_the_date(
    policies: PolicySet, on: dt.date, version: str | None
) -> None:
    """Both ends of a version's dates are inclusive; no version before the first."""
    policy = policies.in_force("LN-CXQ", on)
    assert (policy.version if policy else None) == version


def _broken(tmp_path: Path, source: Path, change: dict[str, object]) -> Path:
    """Copy a shipped file into tmp_path with some dotted keys changed (None deletes)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    target = tmp_path / source.name
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def _errors(path: Path) -> list[tuple[str, str]]:
    """(key, reason) of every error loading `path`."""
    with pytest.raises(PolicyErrors) as info:
        load_policy_file(path)
    for error in info.value.errors:
        assert error.path == str(path)
        assert str(error) == f"{path}: {error.key}: {error.reason}"
    return [(e.key, e.reason) for e in info.value.errors]


@pytest.mark.parametrize(
    ("change", "key", "reason_part"),
    [
        (
            {"services.patent_application.ratio": "1.5"},
            "services.patent_application.ratio",
            "outside 0–1",
        ),
        ({"services.testing.ratio": "-0.1"}, "services.testing.ratio", "outside 0–1"),
        ({"services.testing.ratio": "0.12345"}, "services.testing.ratio", "decimals"),
        ({"issuance.per_voucher_cap": "-1"}, "issuance.per_voucher_cap", "negative"),
        ({"issuance.per_voucher_cap": -5}, "issuance.per_voucher_cap", "negative"),
        ({"issuance.per_voucher_cap": 1500.123}, "issuance.per_voucher_cap", "two decimals"),
        ({"issuance.per_voucher_cap": "1500.123"}, "issuance.per_voucher_cap", "not a yuan"),
        ({"issuance.per_voucher_cap": float("nan")}, "issuance.per_voucher_cap", "finite"),
        ({"issuance.per_voucher_cap": True}, "issuance.per_voucher_cap", "boolean"),
        (
            {
                "services.consulting": {
                    "name_zh": "咨询",
                    "ratio": "0.5",
                    "per_order_cap": 1,
                    "per_firm_year_cap": 1,
                }
            },
            "services.consulting",
            "unknown name",
        ),
        ({"services.testing.per_order_cap": None}, "services.testing.per_order_cap", "required"),
        ({"services.testing.discount": "0.1"}, "services.testing.discount", "unknown key"),
        (
            {"claims.required_evidence": ["contract", "contract"]},
            "claims.required_evidence",
            "listed twice",
        ),
        ({"claims.required_evidence": ["photo"]}, "claims.required_evidence.0", "Input should"),
        ({"validity": {"rule": "months"}}, "validity", "needs `months`"),
        ({"effective_to": "2024-01-01"}, "effective_to", "before effective_from"),
        ({"effective_from": "2024-13-01"}, "effective_from", "date"),
        ({"programme": "ln cxq"}, "programme", "pattern"),
    ],
)
def test_bad_voucher_file_is_refused_with_key_and_reason(
    tmp_path: Path, change: dict[str, object], key: str, reason_part: str
) -> None:
    """Each defect is reported with the file's path, the dotted key and why."""
    errors = _errors(_broken(tmp_path, VOUCHER_2024, change))
    assert any(k == key and reason_part in r for k, r in errors), errors


@pytest.mark.parametrize(
    ("change", "key", "reason_part"),
    [
        (
            {
                "tiers.eagle": {
                    "name_zh": "鹰",
                    "amount": 1,
                    "ladder": "x",
                    "rank": 1,
                    "window_days": 1,
                }
            },
            "tiers.eagle",
            "unknown name",
        ),
        ({"tiers.gazelle.amount": "-200000"}, "tiers.gazelle.amount", "negative"),
        ({"tiers.unicorn.rank": 1}, "tiers", "share rank 1"),
        ({"upgrade": "half"}, "upgrade", "Input should be"),
    ],
)
def test_bad_award_file_is_refused(
    tmp_path: Path, change: dict[str, object], key: str, reason_part: str
) -> None:
    """Unknown tiers, negative amounts, ambiguous ranks and bad modes are refused."""
    errors = _errors(_broken(tmp_path, AWARD_2022, change))
    assert any(k == key and reason_part in r for k, r in errors), errors


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    """One load names every bad key, not just the first."""
    path = _broken(
        tmp_path,
        VOUCHER_2024,
        {"services.testing.ratio": "2", "issuance.per_firm_year_cap": "-1"},
    )
    keys = {k for k, _ in _errors(path)}
    assert {"services.testing.ratio", "issuance.per_firm_year_cap"} <= keys


def test_not_yaml_and_wrong_kind(tmp_path: Path) -> None:
    """A file that is not YAML, not a mapping or of no known kind is refused."""
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("programme: [unclosed\n", encoding="utf-8")
    assert _errors(bad_yaml)[0][0] == "(file)"
    a_list = tmp_path / "b.yaml"
    a_list.write_text("- 1\n", encoding="utf-8")
    assert _errors(a_list) == [("(file)", "a policy file must be a mapping")]
    no_kind = _broken(tmp_path, VOUCHER_2024, {"kind": "grant"})
    assert _errors(no_kind)[0][0] == "kind"


def test_overlapping_versions_are_refused(tmp_path: Path) -> None:
    """Two versions of one programme may not both be in force on a day."""
    shutil.copy(VOUCHER_2024, tmp_path / "LN-CXQ-2024.yaml")
    _broken(tmp_path, SHIPPED_POLICIES / "LN-CXQ-2026.yaml", {"effective_from": "2025-12-31"})
    policy_set, errors = check_policies([tmp_path])
    assert policy_set is None
    assert [(Path(e.path).name, e.key) for e in errors] == [("LN-CXQ-2026.yaml", "effective_from")]
    assert "overlaps version 2024.12" in errors[0].reason


def test_open_ended_version_overlaps_any_later_one(tmp_path: Path) -> None:
    """A version with no end date overlaps every later version."""
    _broken(tmp_path, VOUCHER_2024, {"effective_to": None})
    shutil.copy(SHIPPED_POLICIES / "LN-CXQ-2026.yaml", tmp_path / "LN-CXQ-2026.yaml")
    _, errors = check_policies([tmp_path])
    assert "open end" in errors[0].reason


def test_same_version_label_twice_is_refused(tmp_path: Path) -> None:
    """A version label names one file only."""
    shutil.copy(VOUCHER_2024, tmp_path / "a.yaml")
    _broken(tmp_path, SHIPPED_POLICIES / "LN-CXQ-2026.yaml", {"version": "2024.12"})
    _, errors = check_policies([tmp_path])
    assert any(e.key == "version" and "also in" in e.reason for e in errors)


def test_programme_kind_cannot_change(tmp_path: Path) -> None:
    """A programme is either a voucher or an award programme in all its versions."""
    shutil.copy(VOUCHER_2024, tmp_path / "a.yaml")
    data = yaml.safe_load(AWARD_2022.read_text(encoding="utf-8"))
    data["programme"] = "LN-CXQ"
    data["effective_from"] = dt.date(2026, 1, 1)
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _, errors = check_policies([tmp_path])
    assert any(e.key == "kind" for e in errors)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    """Checking a directory with no policy files is not a silent success."""
    with pytest.raises(PolicyErrors, match="no policy files found"):
        load_policies(tmp_path)


def test_key_written_twice_is_refused(tmp_path: Path) -> None:
    """YAML would keep the last of two equal keys; a policy file refuses both."""
    text = VOUCHER_2024.read_text(encoding="utf-8")
    doubled = tmp_path / "doubled.yaml"
    doubled.write_text(text + "claims:\n  deadline_days: 9\n", encoding="utf-8")
    [(key, reason)] = _errors(doubled)
    assert key == "(file)"
    assert "key 'claims' is written twice" in reason
