"""A synthetic project with N copies of the customer pipeline (distinct entities and prefixes)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_project(root: Path, pipelines: int) -> Path:
    """Write ``root/pipelines/`` with the shipped project file and ``pipelines`` customer-like pipelines."""
    spec_dir = root / "pipelines"
    if root.exists():
        shutil.rmtree(root)
    spec_dir.mkdir(parents=True)
    shutil.copy(REPO / "pipelines" / "project.yml", spec_dir / "project.yml")
    template = (REPO / "pipelines" / "customer.yml").read_text(encoding="utf-8")
    # Names derive from the entity; drop the customer-only overrides so every copy is distinct.
    template = template.replace("  name: MY_CSV_FORMAT\n", "").replace("  name: CUSTOMER\n", "")
    template = template.replace("  name: CUSTOMER_VIEW\n", "")
    for index in range(pipelines):
        entity = f"customer{index:04d}"
        text = re.sub(r"^pipeline: customer$", f"pipeline: {entity}", template, flags=re.MULTILINE)
        text = text.replace("prefix: raw_data/customer/", f"prefix: raw_data/{entity}/")
        text = text.replace('patterns: ["customer*.csv", "customers*.csv"]', f'patterns: ["{entity}_*.csv"]')
        text = text.replace("SOURCE_SYS_NAME: CUSTOMER", f"SOURCE_SYS_NAME: C{index:04d}")
        (spec_dir / f"{entity}.yml").write_text(text, encoding="utf-8")
    return root
