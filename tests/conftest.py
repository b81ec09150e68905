"""Shared fixtures: the shipped project and its desired objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_etl.spec.load import load_project
from retail_etl.spec.resolve import DesiredState, resolve

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shipped() -> DesiredState:
    return resolve(load_project(REPO))
