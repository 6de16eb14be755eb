"""Shared fixture for the fundus analyzer tests: one analyzer with the shipped weights."""

from __future__ import annotations

import pytest

from dualsign.analyzers.fundus import FundusAnalyzer


@pytest.fixture(scope="session")
def analyzer() -> FundusAnalyzer:
    return FundusAnalyzer()
