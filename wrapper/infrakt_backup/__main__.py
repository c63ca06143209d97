"""Allows `python -m infrakt_backup`."""

from infrakt_backup.cli import main

main()
