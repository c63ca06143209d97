#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_info
short_description: List a database's backups in the server's local backup directory
description:
  - Lists the backups of O(db_name) in C(<backup_dir>/<db_name>/), oldest first, with their
    size, creation time (from the filename) and the sha256 recorded in their C(.sha256) sidecar.
  - Every name of the backup filename grammar
    C(<db_name>_<engine>_<YYYYMMDDTHHMMSSZ>.<format>[.<compression>][.age]) is listed, also
    those later versions write (C(.zst), C(.age)). Partial files of running or failed dumps,
    sidecars and files that are not backups of O(db_name) are left out. A missing directory
    means no backups.
version_added: 0.1.0
author: infrakt.backup developers (@infrakt)
options:
  db_name:
    description: The name the database is registered under (as in backup file names).
    type: str
    required: true
  backup_dir:
    description: Root of the local backups.
    type: path
    default: /opt/infrakt/backups
notes:
  - Supports check mode (it only reads).
seealso:
  - module: infrakt.backup.db_backup
"""

EXAMPLES = r"""
- name: List the local backups of the shop database
  infrakt.backup.backup_info:
    db_name: shop
  register: local_backups
"""

RETURN = r"""
backups:
  description: The backups, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    filename:
      description: File name of the backup.
      type: str
      sample: shop_postgres_20261124T210509Z.dump
    path:
      description: Absolute path of the backup.
      type: str
      sample: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump
    size:
      description: Size in bytes.
      type: int
      sample: 48213
    created:
      description: When the backup was taken, ISO-8601 UTC (the time in the filename).
      type: str
      sample: "2026-11-24T21:05:09Z"
    engine:
      description: The engine in the filename.
      type: str
      sample: postgres
    sha256:
      description: Hex sha256 from the sidecar; null when the sidecar is missing or malformed.
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    signature:
      description: The signature (hex HMAC-SHA256) the sidecar records; null when it has none (unsigned).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import (
    DEFAULT_BACKUP_DIR,
    list_local_backups,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            db_name=dict(type="str", required=True),
            backup_dir=dict(type="path", default=DEFAULT_BACKUP_DIR),
        ),
        supports_check_mode=True,
    )
    try:
        backups = list_local_backups(module.params["backup_dir"], module.params["db_name"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    except OSError as error:
        module.fail_json(msg="cannot list the backups of %s: %s" % (module.params["db_name"], error))
    module.exit_json(changed=False, backups=backups)


if __name__ == "__main__":
    main()
