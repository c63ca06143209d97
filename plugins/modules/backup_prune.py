#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: backup_prune
short_description: Apply a retention policy to a database's backups, in S3 and on the server
description:
  - Deletes the backups of O(db_name) that its retention does not keep, each with its
    C(.sha256) sidecar, and reports what it deleted and kept. Backups are dated by the time in
    their filename (UTC).
  - "In S3 (when O(bucket) is given), with the semantics of restic's and borg's C(forget):
    O(keep_last=N) keeps the N newest backups; O(keep_daily), O(keep_weekly) and O(keep_monthly)
    keep the newest backup of each of the N most recent days, ISO weeks and months that have
    one. A backup any rule keeps stays. With no rule set, S3 keeps everything."
  - "On the server: the O(keep_local) newest backups in C(<backup_dir>/<db_name>/) stay. While
    S3 is configured, a local copy that S3 does not hold (object and sidecar) is never deleted:
    its upload failed, and it may be the only copy."
  - The newest backup is never deleted, in either place. Only names of the backup filename
    grammar of O(db_name) count, and only backups whose sidecar is there (it is written last);
    in S3 only objects directly under C(<prefix>/<db_name>/). Foreign objects and files,
    deeper keys, partial files and sidecars without their backup stay.
  - S3 is pruned first; the S3 backups listed before it count as uploaded for the local pass.
    A failure in S3 leaves the local backups untouched.
  - Failures return one sentence in C(msg), a RV(error_code), the aws CLI's RV(stderr) with
    the access key and secret stripped, and RV(local) and RV(s3) with what was really deleted.
version_added: "0.1.0"
extends_documentation_fragment:
  - infrakt.backup.s3_target
  - infrakt.backup.s3_keys
author:
  - infrakt.backup developers (@infrakt)
options:
  db_name:
    description: The name the database is registered under (as in backup file names and S3 keys).
    type: str
    required: true
  backup_dir:
    description: Root of the local backups, C(<backup_dir>/<db_name>/<filename>).
    type: path
    default: /opt/infrakt/backups
  keep_local:
    description: How many of the newest local backups stay (0 still keeps the newest).
    type: int
    default: 7
  keep_last:
    description: In S3, keep the N newest backups.
    type: int
  keep_daily:
    description: In S3, keep the newest backup of each of the N most recent days (UTC) that have one.
    type: int
  keep_weekly:
    description: In S3, keep the newest backup of each of the N most recent ISO weeks that have one.
    type: int
  keep_monthly:
    description: In S3, keep the newest backup of each of the N most recent months that have one.
    type: int
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - "A dry run: the listings happen, nothing is deleted, and RV(local) and RV(s3) list what
        would be deleted."
notes:
  - Requires, with O(bucket), the aws CLI on the server (role infrakt.backup.awscli) and the
    files of M(infrakt.backup.s3_credentials).
  - When the module is ended by SIGTERM or SIGHUP, or its SSH session closes, the running aws
    CLI is interrupted and a run directory of M(infrakt.backup.s3_credentials) given as
    O(credentials_dir) is removed.
seealso:
  - module: infrakt.backup.s3_object
  - module: infrakt.backup.backup_info
"""

EXAMPLES = r"""
- name: Keep the 3 newest local backups of shop
  infrakt.backup.backup_prune:
    db_name: shop
    keep_local: 3

- name: Keep 7 daily, 4 weekly and 12 monthly backups in S3, 2 on the server
  infrakt.backup.backup_prune:
    db_name: shop
    keep_local: 2
    keep_daily: 7
    keep_weekly: 4
    keep_monthly: 12
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    endpoint_url: https://s3.eu-central-003.backblazeb2.com
    bucket: company-backups
    prefix: prod
  register: pruned
"""

RETURN = r"""
dry_run:
  description: Whether this was a check-mode run (RV(local) and RV(s3) then list what would be deleted).
  returned: always
  type: bool
  sample: false
local:
  description: The local backups of O(db_name); null when a failure in S3 stopped the prune first.
  returned: always
  type: dict
  contains:
    deleted:
      description: Filenames deleted (with their sidecars), oldest first.
      type: list
      elements: str
    kept:
      description: Filenames that stay, oldest first.
      type: list
      elements: str
    failed:
      description: The filename whose deletion failed; the files after it were not tried.
      type: str
      returned: failure
  sample:
    deleted: [shop_postgres_20261120T020000Z.dump]
    kept: [shop_postgres_20261123T020000Z.dump, shop_postgres_20261124T020000Z.dump]
s3:
  description:
    - The S3 backups of O(db_name) directly under C(<prefix>/<db_name>/); null without O(bucket).
    - On a failure to list, RV(s3.failed) is null and nothing was deleted.
  returned: always
  type: dict
  contains:
    deleted:
      description: Filenames deleted (object and sidecar), oldest first.
      type: list
      elements: str
    kept:
      description: Filenames that stay, oldest first.
      type: list
      elements: str
    failed:
      description:
        - The filename whose deletion failed (its object may be gone while its sidecar stayed);
          the ones after it were not tried.
      type: str
      returned: failure
  sample:
    deleted: [shop_postgres_20261001T020000Z.dump]
    kept: [shop_postgres_20261101T020000Z.dump, shop_postgres_20261124T020000Z.dump]
error_code:
  description:
    - Why it failed, e.g. V(AccessDenied), V(NoSuchBucket), V(EndpointUnreachable), V(AwsCliMissing),
      V(CredentialsMissing), V(InvalidInput), V(LocalFileError), or the S3 error code the aws CLI printed.
  returned: failure
  type: str
  sample: AccessDenied
stderr:
  description: The aws CLI's error output, access key and secret stripped; empty when the CLI did not run.
  returned: failure
  type: str
  sample: "An error occurred (AccessDenied) when calling the DeleteObject operation: Access Denied"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR
from ansible_collections.infrakt.backup.plugins.module_utils.backup_run import (
    s3_target,
    s3_target_argument_spec,
)
from ansible_collections.infrakt.backup.plugins.module_utils.retention import (
    DEFAULT_KEEP_LOCAL,
    PruneError,
    RetentionPolicy,
    prune,
)
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import AwsError
from ansible_collections.infrakt.backup.plugins.module_utils.termination import Terminated, cleanup_on_termination


def run_prune(module):
    """Prune as module.params say (S3 too when a bucket is given); return prune()'s result."""
    params = module.params
    policy = RetentionPolicy(params["keep_last"], params["keep_daily"], params["keep_weekly"], params["keep_monthly"])
    with cleanup_on_termination(), s3_target(module.run_command, params) as target:
        if target is None:
            return prune(params["backup_dir"], params["db_name"], params["keep_local"], policy,
                         dry_run=module.check_mode)
        # masked by Ansible in everything the module returns, on top of mask_secrets() (as s3_object)
        module.no_log_values.add(target.cli.credentials.get("aws_secret_access_key", ""))
        return prune(params["backup_dir"], params["db_name"], params["keep_local"], policy,
                     s3=(target.cli, target.bucket, target.prefix), dry_run=module.check_mode)


def main():
    argument_spec = s3_target_argument_spec()
    argument_spec.update(
        db_name=dict(type="str", required=True),
        backup_dir=dict(type="path", default=DEFAULT_BACKUP_DIR),
        keep_local=dict(type="int", default=DEFAULT_KEEP_LOCAL),
        keep_last=dict(type="int"),
        keep_daily=dict(type="int"),
        keep_weekly=dict(type="int"),
        keep_monthly=dict(type="int"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
    )
    params = module.params
    failure = "Pruning the backups of %s failed: " % params["db_name"]
    try:
        result = run_prune(module)
    except Terminated:
        # ended by a signal or a dropped SSH session: the run that wrote the credentials cannot go
        # on, so they go now (a directory of another kind is the user's and stays)
        if params["credentials_dir"]:
            tmpfs.remove_run_dir_unless_in_use(params["credentials_dir"])
        raise
    except PruneError as error:
        module.fail_json(msg=failure + error.message, error_code=error.code, stderr=error.stderr, **error.result)
    except AwsError as error:
        module.fail_json(msg=failure + error.message, error_code=error.code, stderr=error.stderr, **error.details)
    except ValueError as error:
        module.fail_json(msg=failure + str(error), error_code="InvalidInput", stderr="")
    except OSError as error:
        module.fail_json(msg=failure + str(error), error_code="LocalFileError", stderr="")
    deleted = result["local"]["deleted"] + (result["s3"]["deleted"] if result["s3"] else [])
    module.exit_json(changed=bool(deleted), **result)


if __name__ == "__main__":
    main()
