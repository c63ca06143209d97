"""infrakt-backup: the thin wrapper around the infrakt.backup Ansible collection.

The wrapper imports the collection's shared code (names, presets) with ordinary imports,
`from ansible_collections.infrakt.backup.plugins.module_utils import …`: the directory that
holds `ansible_collections` is put on sys.path here, before any wrapper module loads
(collection.py says where it is)."""

import sys

from infrakt_backup.collection import collections_dir

__version__ = "0.1.0"

if str(collections_dir()) not in sys.path:
    sys.path.append(str(collections_dir()))
