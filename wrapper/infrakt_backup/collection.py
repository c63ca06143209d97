"""Where the infrakt.backup collection this wrapper drives lives.

Installed from the wheel, the collection sits inside the package
(`infrakt_backup/collection/ansible_collections/infrakt/backup`); in a checkout it is the
repository root. The wrapper validates names with the collection's own rules, so the two
can never disagree.
"""

import importlib.util
from functools import cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def collection_root() -> Path:
    """Return the directory holding the collection's galaxy.yml, playbooks/, roles/ and plugins/."""
    bundled = PACKAGE_DIR / "collection" / "ansible_collections" / "infrakt" / "backup"
    if (bundled / "galaxy.yml").is_file():
        return bundled
    checkout = PACKAGE_DIR.parent.parent
    if (checkout / "galaxy.yml").is_file() and (checkout / "playbooks").is_dir():
        return checkout
    raise RuntimeError(f"the infrakt.backup collection was found neither in {bundled} nor in {checkout}")


@cache
def names():
    """Return the collection's plugins/module_utils/names.py loaded as a module."""
    path = collection_root() / "plugins" / "module_utils" / "names.py"
    spec = importlib.util.spec_from_file_location("infrakt_backup_names", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
