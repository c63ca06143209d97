"""Shared pytest setup: the collection is importable as ansible_collections.infrakt.backup
(through the link scripts/bootstrap.sh makes under collections/), and the repository root is
importable so that tests can use the test bench package `tests.testbed`."""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
for path in (REPO_ROOT / "collections", REPO_ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
