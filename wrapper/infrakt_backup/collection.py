"""Where the infrakt.backup collection this wrapper drives lives, and how the wrapper imports
its shared code.

Installed from the wheel, the collection sits inside the package
(`infrakt_backup/collection/ansible_collections/infrakt/backup`); in a checkout it is the
repository root, reachable as `collections/ansible_collections/infrakt/backup` through the
link scripts/bootstrap.sh makes. The package's __init__ puts the directory holding
`ansible_collections` on sys.path, so the wrapper imports the collection's module_utils the
way the modules and the tests do (`from ansible_collections.infrakt.backup.plugins.
module_utils import names`): the wrapper validates with the collection's own rules, and the
dependency shows in the import graph.
"""

from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent.parent


@cache
def collection_root() -> Path:
    """Return the directory holding the collection's galaxy.yml, playbooks/, roles/ and plugins/."""
    bundled = PACKAGE_DIR / "collection" / "ansible_collections" / "infrakt" / "backup"
    if (bundled / "galaxy.yml").is_file():
        return bundled
    if (CHECKOUT_DIR / "galaxy.yml").is_file() and (CHECKOUT_DIR / "playbooks").is_dir():
        return CHECKOUT_DIR
    raise RuntimeError(f"the infrakt.backup collection was found neither in {bundled} nor in {CHECKOUT_DIR}")


def collections_dir() -> Path:
    """Return the directory that holds `ansible_collections/infrakt/backup` (the collection)."""
    root = collection_root()
    if root == CHECKOUT_DIR:
        return CHECKOUT_DIR / "collections"
    return root.parents[2]
