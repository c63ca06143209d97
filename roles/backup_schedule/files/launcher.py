# infrakt.backup: the launcher of scheduled backups (role infrakt.backup.backup_schedule).
# Each database's script runs `python3 -I launcher.py <config>`; the code is the collection's
# own module_utils, installed beside this file, the same code the modules run.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ansible_collections.infrakt.backup.plugins.module_utils.scheduled_run import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
