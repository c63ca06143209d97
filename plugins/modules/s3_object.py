#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: s3_object
short_description: Upload, download, list, delete backups in S3 with the aws CLI on the server
description:
  - Moves database backups between the server and S3-compatible storage with the aws CLI
    installed by the infrakt.backup.awscli role, using the temporary credentials the
    infrakt.backup.s3_credentials role wrote (O(credentials_dir)). The bytes go straight from
    the server to S3, never through the controller.
  - "A backup lives at C(<prefix>/<db_name>/<filename>); its sha256 is recorded twice: as object
    metadata C(sha256) and as a sidecar object C(<filename>.sha256) in C(sha256sum) format."
  - "O(mode=upload): O(src) (default C(<backup_dir>/<db_name>/<filename>)) goes to
    C(<prefix>/<db_name>/<basename of src>), then its sidecar. The file's sha256 must match its
    local C(.sha256) sidecar and O(sha256) when given, else nothing is uploaded. Nothing is sent
    either when the S3 sidecar already records the same sha256 and the object has the same
    size. O(src) is only read."
  - "O(mode=download): O(filename) is written under a temporary name in O(dest_dir) (default
    C(<backup_dir>/<db_name>)), checked
    against the recorded sha256 (the sidecar, else the metadata) and renamed only when it
    matches; the local C(<filename>.sha256) sidecar is written next to it. A local copy that
    already matches is kept. With O(verify=false) nothing is checked and no sidecar is written
    (one left from the replaced bytes is removed), so M(infrakt.backup.db_restore) refuses the
    file until a verified download or a sidecar of your own vouches for it."
  - "O(mode=list): the objects directly under C(<prefix>/<db_name>/) (every page) from one
    aws command, each saying whether its sidecar exists; with O(read_sidecars) the sidecars
    are also downloaded (one more aws process) and each object gets the sha256 and signature
    its sidecar records."
  - "O(mode=delete): O(filename) and its sidecar."
  - "O(mode=probe): list the prefix, put a small object under it, read it back, delete it."
  - Failures return one sentence in C(msg), a RV(error_code) and the aws CLI's RV(stderr)
    with the access key and secret stripped.
version_added: "0.1.0"
extends_documentation_fragment:
  - infrakt.backup.s3
author:
  - infrakt.backup developers (@infrakt)
options:
  mode:
    description: What to do.
    type: str
    required: true
    choices: [upload, download, list, delete, probe]
  aws_bin:
    description: Absolute path of the aws CLI on the server (the infrakt.backup.awscli role sets C(infrakt_aws_bin)).
    type: path
    default: /opt/infrakt/awscli/bin/aws
  credentials_dir:
    description:
      - Directory with the aws CLI C(credentials) and C(config) files
        (RV(infrakt.backup.s3_credentials#module:path)).
    type: path
    required: true
  bucket:
    description: Bucket name.
    type: str
    required: true
  prefix:
    description: Key prefix under which each database gets a folder (segments of C([A-Za-z0-9_.-]), no C(..)).
    type: str
    default: ""
  db_name:
    description: Database the backup belongs to. Required for every mode but V(probe).
    type: str
  src:
    description:
      - Absolute path of the backup file to upload (O(mode=upload)); its name must be a backup
        filename of O(db_name). Default C(<backup_dir>/<db_name>/<filename>).
    type: path
  sha256:
    description:
      - The sha256 of O(src) when already known (computed while dumping). The upload is refused
        when the file's sha256 differs from it.
    type: str
  filename:
    description:
      - Backup filename as listed, for O(mode=download) and O(mode=delete); for O(mode=upload)
        the file C(<backup_dir>/<db_name>/<filename>) when O(src) is not given.
    type: str
  backup_dir:
    description: Root of the local backups, C(<backup_dir>/<db_name>/<filename>), as for M(infrakt.backup.db_backup).
    type: path
    default: /opt/infrakt/backups
  dest_dir:
    description:
      - Where O(mode=download) puts the file (0600); default C(<backup_dir>/<db_name>).
      - Missing directories are created 0700; an existing one keeps its mode.
    type: path
  verify:
    description:
      - With O(mode=download), refuse a backup whose sha256 does not match the recorded one, or that
        has none recorded. V(false) accepts whatever arrives, unchecked and without a local sidecar.
    type: bool
    default: true
  read_sidecars:
    description:
      - With O(mode=list), also read every sidecar (one C(aws s3 cp --recursive) of the C(.sha256)
        objects into a temporary directory) and return RV(objects[].sha256) and RV(objects[].signature).
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - Reads (listing, checksums) still happen; nothing is uploaded, downloaded or deleted, and a
        probe only lists.
notes:
  - Requires the aws CLI on the server (role infrakt.backup.awscli) and the files of
    M(infrakt.backup.s3_credentials).
  - When the module is ended by SIGTERM or SIGHUP, or its SSH session closes (the controller was
    killed or cancelled, the connection dropped), the running aws CLI is interrupted (it aborts a
    multipart upload; killed after 5 seconds) and a run directory of
    M(infrakt.backup.s3_credentials) given as O(credentials_dir) is removed.
seealso:
  - module: infrakt.backup.s3_credentials
"""

EXAMPLES = r"""
- name: Upload a backup
  infrakt.backup.s3_object:
    mode: upload
    aws_bin: "{{ infrakt_aws_bin }}"
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    endpoint_url: https://s3.eu-central-003.backblazeb2.com
    bucket: company-backups
    prefix: prod
    db_name: shop
    src: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump
    sha256: "{{ dump.sha256 }}"

- name: List the backups of shop in S3
  infrakt.backup.s3_object:
    mode: list
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    bucket: company-backups
    prefix: prod
    db_name: shop
  register: listing

- name: Download one, verified
  infrakt.backup.s3_object:
    mode: download
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    bucket: company-backups
    prefix: prod
    db_name: shop
    filename: shop_postgres_20261124T210509Z.dump

- name: Check that the bucket accepts writes
  infrakt.backup.s3_object:
    mode: probe
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    bucket: company-backups
    prefix: prod

- name: Upload a backup by name from <backup_dir>/<db_name>/, the endpoint set once for the group
  module_defaults:
    group/infrakt.backup.s3:
      endpoint_url: https://s3.eu-central-003.backblazeb2.com
  infrakt.backup.s3_object:
    mode: upload
    credentials_dir: "{{ infrakt_s3_credentials_dir }}"
    bucket: company-backups
    db_name: shop
    backup_dir: /srv/backups
    filename: shop_postgres_20261124T210509Z.dump
"""

RETURN = r"""
key:
  description: S3 key of the backup (upload, download, delete), or of the probe object (probe).
  returned: success, all modes but list
  type: str
  sample: prod/shop/shop_postgres_20261124T210509Z.dump
url:
  description: "C(s3://<bucket>/<key>) of the backup."
  returned: success, upload and download
  type: str
  sample: s3://company-backups/prod/shop/shop_postgres_20261124T210509Z.dump
size:
  description: Size in bytes of the backup.
  returned: success, upload and download
  type: int
  sample: 67108864
sha256:
  description: sha256 of the backup (upload, download; with verify=false, of what arrived).
  returned: success, upload and download
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
path:
  description: Local path of the downloaded backup.
  returned: success, download
  type: str
  sample: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump
sidecar_path:
  description: Local path of its C(.sha256) sidecar; null when RV(verified) is false (no sidecar was written).
  returned: success, download
  type: str
  sample: /opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump.sha256
verified:
  description: Whether the download was checked against a recorded sha256 (only then does it get a sidecar).
  returned: success, download
  type: bool
  sample: true
prefix:
  description: The listed key prefix C(<prefix>/<db_name>/).
  returned: success, list
  type: str
  sample: prod/shop/
count:
  description: Number of objects listed.
  returned: success, list
  type: int
  sample: 2
objects:
  description:
    - The objects directly under RV(prefix), sorted by filename; sidecars are left out (folded
      into RV(objects[].sidecar)).
  returned: success, list
  type: list
  elements: dict
  contains:
    filename:
      description: Object name below RV(prefix).
      type: str
    key:
      description: Full S3 key.
      type: str
    size:
      description: Size in bytes.
      type: int
    last_modified:
      description: Last modification, ISO-8601 UTC (C(YYYY-MM-DDTHH:MM:SSZ)).
      type: str
    sidecar:
      description: Whether the object's C(<filename>.sha256) sidecar object exists (its sha256 is recorded in S3).
      type: bool
    sha256:
      description: With O(read_sidecars), the sha256 the sidecar records (null without one or for a malformed one).
      type: str
    signature:
      description: With O(read_sidecars), the signature (hex) the sidecar records, null when it has none.
      type: str
  sample:
    - filename: shop_postgres_20261124T210509Z.dump
      key: prod/shop/shop_postgres_20261124T210509Z.dump
      size: 67108864
      last_modified: "2026-11-24T21:05:12Z"
      sidecar: true
deleted:
  description: Keys deleted (the backup and its sidecar, those that existed).
  returned: success, delete
  type: list
  elements: str
  sample: [prod/shop/shop_postgres_20261124T210509Z.dump, prod/shop/shop_postgres_20261124T210509Z.dump.sha256]
steps:
  description: Probe steps that succeeded, in order (V(list), V(put), V(get), V(delete)).
  returned: probe (on failure too, with the steps before the failed one)
  type: list
  elements: str
  sample: [list, put, get, delete]
error_code:
  description:
    - Why it failed, e.g. V(InvalidAccessKeyId), V(SignatureDoesNotMatch), V(AccessDenied), V(NoSuchBucket),
      V(NoSuchKey), V(EndpointUnreachable), V(TLSError), V(WrongRegion), V(ChecksumHeaderRejected),
      V(ChecksumMismatch), V(ChecksumMissing), V(AwsCliMissing), V(CredentialsMissing), V(InvalidInput),
      or the S3 error code the aws CLI printed.
  returned: failure
  type: str
  sample: SignatureDoesNotMatch
stderr:
  description: The aws CLI's error output, access key and secret stripped; empty when the CLI did not run.
  returned: failure
  type: str
  sample: "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation:
    The specified bucket does not exist"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.backup_files import DEFAULT_BACKUP_DIR, database_dir
from ansible_collections.infrakt.backup.plugins.module_utils.names import validate_backup_filename
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import operations
from ansible_collections.infrakt.backup.plugins.module_utils.s3.awscli import DEFAULT_AWS_BIN, AwsCli, AwsError
from ansible_collections.infrakt.backup.plugins.module_utils.s3.presets import s3_argument_spec
from ansible_collections.infrakt.backup.plugins.module_utils.termination import Terminated, cleanup_on_termination

# "S3 <what> failed: <reason>" is the one sentence a failure reports
WHAT = {
    "upload": "upload of {src}",
    "download": "download of {filename}",
    "list": "listing of the backups of {db_name}",
    "delete": "deletion of {filename}",
    "probe": "probe of bucket {bucket}",
}


def upload_source(params):
    """Return the file mode=upload sends: src, else `<backup_dir>/<db_name>/<filename>`."""
    if params["src"]:
        return params["src"]
    filename = validate_backup_filename(params["db_name"], params["filename"])
    return os.path.join(database_dir(params["backup_dir"], params["db_name"]), filename)


def run_mode(module, cli):
    """Run module.params['mode'] through cli (awscli.AwsCli); return the module result."""
    params = module.params
    common = (cli, params["bucket"], params["prefix"])
    mode = params["mode"]
    if mode == "upload":
        return operations.upload_backup(
            *common, params["db_name"], upload_source(params), params["sha256"], module.check_mode
        )
    if mode == "download":
        return operations.download_backup(
            *common, params["db_name"], params["filename"], params["dest_dir"], params["verify"], module.check_mode,
            params["backup_dir"],
        )
    if mode == "list":
        return operations.list_backups(*common, params["db_name"], params["read_sidecars"])
    if mode == "delete":
        return operations.delete_backup(*common, params["db_name"], params["filename"], module.check_mode)
    return operations.probe_bucket(*common, check_mode=module.check_mode)


def main():
    argument_spec = s3_argument_spec()
    argument_spec.update(
        mode=dict(type="str", required=True, choices=["upload", "download", "list", "delete", "probe"]),
        aws_bin=dict(type="path", default=DEFAULT_AWS_BIN),
        credentials_dir=dict(type="path", required=True),
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=""),
        db_name=dict(type="str"),
        src=dict(type="path"),
        sha256=dict(type="str"),
        filename=dict(type="str"),
        backup_dir=dict(type="path", default=DEFAULT_BACKUP_DIR),
        dest_dir=dict(type="path"),
        verify=dict(type="bool", default=True),
        read_sidecars=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[
            ("mode", "upload", ["db_name"]),
            ("mode", "upload", ["src", "filename"], True),
            ("mode", "download", ["db_name", "filename"]),
            ("mode", "list", ["db_name"]),
            ("mode", "delete", ["db_name", "filename"]),
        ],
        supports_check_mode=True,
    )
    params = module.params
    what = WHAT[params["mode"]].format(**dict(params, src=params["src"] or params["filename"]))
    try:
        cli = AwsCli(
            module.run_command, module.params["aws_bin"], module.params["credentials_dir"],
            module.params["endpoint_url"],
        )
        # Ansible masks it in everything the module returns, on top of mask_secrets(); not the
        # access key id, which is no secret and may be a short word found in keys and names
        module.no_log_values.add(cli.credentials.get("aws_secret_access_key", ""))
        with cleanup_on_termination(), tmpfs.using_private_dir(module.params["credentials_dir"]):
            result = run_mode(module, cli)
    except Terminated:
        # ended by a signal or a dropped SSH session (the aws CLI was stopped on the way out):
        # the run that wrote the credentials cannot go on, so they go now rather than later
        tmpfs.remove_run_dir_unless_in_use(module.params["credentials_dir"])
        raise
    except AwsError as error:
        module.fail_json(
            msg="S3 %s failed: %s" % (what, error.message), error_code=error.code, stderr=error.stderr,
            **error.details
        )
    except ValueError as error:
        module.fail_json(msg="S3 %s failed: %s" % (what, error), error_code="InvalidInput", stderr="")
    except OSError as error:
        module.fail_json(msg="S3 %s failed: %s" % (what, error), error_code="LocalFileError", stderr="")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
