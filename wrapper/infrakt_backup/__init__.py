"""infrakt-backup: the thin wrapper around the infrakt.backup Ansible collection."""

__version__ = "0.1.0"
