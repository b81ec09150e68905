"""Shared fixtures: the original customer pipeline as shipped, and its desired objects."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retail_etl.spec.load import load_project
from retail_etl.spec.resolve import DesiredState, resolve

REPO = Path(__file__).resolve().parents[1]


def copy_customer_pipelines(destination: Path) -> Path:
    """The shipped project file and the original customer pipeline, without the other pipelines: the deployer's
    tests pin the objects, counts and statements of that one pipeline; the whole retail product (every shipped
    pipeline) is tested in test_retail_product.py."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("project.yml", "customer.yml"):
        shutil.copy(REPO / "pipelines" / name, destination / name)
    return destination


@pytest.fixture(scope="session")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> DesiredState:
    project = tmp_path_factory.mktemp("shipped")
    copy_customer_pipelines(project / "pipelines")
    return resolve(load_project(project))
