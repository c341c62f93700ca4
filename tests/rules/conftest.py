"""Fixtures for the policy-engine tests: the shipped policy set, loaded once."""

from __future__ import annotations

import pytest

from rules.loader import PolicySet, load_policies


@pytest.fixture(scope="session")
def policies() -> PolicySet:
    """The shipped Liaoning policy files."""
    return load_policies()
