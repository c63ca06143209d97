"""`make bench` (python -m bench): see bench/__main__.py. Importing infrakt_backup first puts
the collection on sys.path, for the `ansible_collections.infrakt.backup` imports of the rows."""

import infrakt_backup  # noqa: F401
