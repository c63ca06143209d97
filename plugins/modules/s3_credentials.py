#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: s3_credentials
short_description: Temporary aws CLI credentials and config files on tmpfs
description:
  - With O(state=present), creates a new private directory (0700, unique per run) on tmpfs and
    writes the aws CLI C(credentials) and C(config) files (0600, created exclusively) into it.
    The C(config) file carries the provider preset (region, addressing style, checksum
    settings) and the transfer settings. M(infrakt.backup.s3_object) points the aws CLI at them
    with E(AWS_SHARED_CREDENTIALS_FILE) and E(AWS_CONFIG_FILE).
  - Each O(state=present) run first removes run directories older than O(max_age) seconds,
    left behind by crashed runs.
  - With O(state=present), also starts a watchdog process on the server (the module's own
    interpreter; no secret in its arguments or memory) that removes the directory once the SSH
    connection the module ran over has ended (its C(sshd) process exited), or once the directory
    has been idle for O(max_age) seconds, whichever comes first, so that a controller killed
    before its cleanup step leaves nothing behind for long. It ends when the directory is gone.
    Without an C(sshd) process above the module (a local connection) only O(max_age) applies.
  - With O(state=absent), removes the directory O(path) made by an earlier O(state=present).
  - O(access_key) and O(secret_key) are required with O(state=present).
  - The keys arrive as module arguments (send them with pipelining on, so they travel over the
    SSH channel and never land in a file on the server) and are written by this module on the
    server, never rendered on the controller as M(ansible.builtin.template) would do.
version_added: "0.1.0"
extends_documentation_fragment:
  - infrakt.backup.s3
  - infrakt.backup.s3_keys
author:
  - infrakt.backup developers (@infrakt)
options:
  state:
    description: Create a new credentials directory (or fill O(dest)), or remove O(path) (or O(dest)).
    type: str
    choices: [present, absent]
    default: present
  dest:
    description:
      - A fixed directory for credentials that stay, those of the server's scheduled backups
        (role infrakt.backup.backup_schedule, C(/etc/infrakt/s3)). With O(state=present) the two
        files are written there (directory 0700, files 0600, replaced atomically, left alone when
        unchanged); with O(state=absent) they are removed, and the directory when empty.
      - No run directory, watchdog or sweep then; O(base_dir), O(max_age) and O(path) are ignored.
    type: path
  base_dir:
    description:
      - Directory on tmpfs for the run directories. Default C(/run/infrakt) when C(/run) is a tmpfs
        (root), else C(/dev/shm/infrakt); for another user C(/run/user/<uid>/infrakt) or
        C(/dev/shm/infrakt-<uid>). It must belong to the user the module runs as.
      - A base directory that is not on a tmpfs (given, or none of the defaults is) makes the
        module fail with one line naming it, unless O(allow_secrets_on_disk=true).
    type: path
  allow_secrets_on_disk:
    description:
      - Write the credentials to O(base_dir) (default C(/dev/shm/infrakt), or
        C(/dev/shm/infrakt-<uid>)) even when it is not on a tmpfs. They then reach a disk, whose
        blocks may keep them after the files are removed.
      - The server's counterpart of the CLI's E(INFRAKT_ALLOW_SECRETS_ON_DISK=1).
    type: bool
    default: false
  max_age:
    description:
      - Run directories under O(base_dir) older than this many seconds are removed.
      - The watchdog removes the new run directory once it has been idle this long, even when the
        SSH connection lasts.
    type: int
    default: 3600
  path:
    description: The run directory to remove with O(state=absent) (the RV(path) of O(state=present)).
    type: path
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - Nothing is written or removed in check mode, so later S3 steps would find no credentials;
        the infrakt.backup.s3_credentials role therefore runs this module with C(check_mode=false).
notes:
  - Remove the directory in an C(always:) section (the infrakt.backup.s3_credentials role's
    C(cleanup.yml) does), so that it goes away after a failed task too.
"""

EXAMPLES = r"""
- name: Write temporary S3 credentials
  infrakt.backup.s3_credentials:
    access_key: "{{ infrakt_s3_access_key }}"
    secret_key: "{{ infrakt_s3_secret_key }}"
    provider: backblaze
    endpoint_url: https://s3.eu-central-003.backblazeb2.com
  register: credentials
  no_log: true

- name: Remove them
  infrakt.backup.s3_credentials:
    state: absent
    path: "{{ credentials.path }}"
"""

RETURN = r"""
path:
  description: The run directory holding the two files (pass it as O(infrakt.backup.s3_object#module:credentials_dir)).
  returned: state=present, not in check mode
  type: str
  sample: /run/infrakt/run-k2j4h1x9
credentials_file:
  description: Path of the credentials file.
  returned: state=present, not in check mode
  type: str
  sample: /run/infrakt/run-k2j4h1x9/credentials
config_file:
  description: Path of the config file.
  returned: state=present, not in check mode
  type: str
  sample: /run/infrakt/run-k2j4h1x9/config
watchdog:
  description: Process id of the watchdog that removes the run directory when the SSH connection ends.
  returned: state=present, not in check mode
  type: int
  sample: 48213
base_dir:
  description: The directory the run directory is in.
  returned: state=present
  type: str
  sample: /run/infrakt
swept:
  description: Stale run directories removed first.
  returned: state=present
  type: list
  elements: str
  sample: []
settings:
  description: The provider settings written to the config file.
  returned: state=present
  type: dict
  sample: {provider: minio, region: us-east-1, addressing_style: path, checksum_when_required: true}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names, termination, tmpfs
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets


def install(module):
    """Write the credentials and config files into the fixed directory module.params['dest'];
    return the module result (changed when a file's content changed)."""
    dest = module.params["dest"]
    try:
        names.validate_absolute_path(dest, "dest")
        settings, files = presets.credential_files(module.params)
        paths = dict((name, os.path.join(dest, name)) for name in files)
        if module.check_mode:
            return {"changed": any(_content(paths[name]) != text for name, text in files.items()),
                    "path": dest, "settings": settings}
        backup_files.ensure_private_dirs(os.path.dirname(dest))
        tmpfs.ensure_private_base_dir(dest)  # not a symlink, ours, 0700
        changed = [backup_files.write_private_atomically(paths[name], text) for name, text in files.items()]
    except (ValueError, OSError) as error:
        module.fail_json(msg="cannot write the S3 credentials into %s: %s" % (dest, error))
    return {"changed": any(changed), "path": dest, "settings": settings,
            "credentials_file": paths[presets.CREDENTIALS_FILE], "config_file": paths[presets.CONFIG_FILE]}


def uninstall(module):
    """Remove the credentials and config files from module.params['dest'], and the directory
    when nothing else is in it; return the module result."""
    dest = module.params["dest"]
    paths = [os.path.join(dest, name) for name in (presets.CREDENTIALS_FILE, presets.CONFIG_FILE)]
    present = [path for path in paths if os.path.lexists(path)]
    if module.check_mode or not present:
        return {"changed": bool(present), "path": dest}
    try:
        for path in present:
            os.unlink(path)
        if not os.listdir(dest):
            os.rmdir(dest)
    except OSError as error:
        module.fail_json(msg="cannot remove the S3 credentials from %s: %s" % (dest, error))
    return {"changed": True, "path": dest}


def _content(path):
    """Return the text of the file at path, or None when there is none."""
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def create(module):
    """Sweep stale run directories, then write the credentials and config files into a new
    one; return the module result."""
    params = module.params
    try:
        settings, files = presets.credential_files(params)
        base_dir = tmpfs.default_base_dir(params["base_dir"], params["allow_secrets_on_disk"])
        result = {"changed": True, "base_dir": base_dir, "settings": settings, "swept": []}
        if module.check_mode:
            return result
        # a base directory of another user is refused before anything in it is swept
        tmpfs.ensure_private_base_dir(base_dir)
        result["swept"] = tmpfs.sweep_stale_dirs(base_dir, params["max_age"])
        path = tmpfs.create_private_dir(base_dir, files)
        try:
            result["watchdog"] = tmpfs.start_watchdog(path, termination.ssh_connection(), params["max_age"])
        except OSError:
            tmpfs.remove_private_dir(path)  # credentials nobody would remove in time are not left
            raise
    except (ValueError, OSError) as error:
        module.fail_json(msg="cannot write the temporary S3 credentials: %s" % error)
    result.update(
        path=path,
        credentials_file=os.path.join(path, presets.CREDENTIALS_FILE),
        config_file=os.path.join(path, presets.CONFIG_FILE),
    )
    return result


def remove(module):
    """Remove the run directory in module.params['path']; return the module result."""
    path = module.params["path"]
    try:
        if module.check_mode:
            return {"changed": os.path.lexists(path), "path": path}
        return {"changed": tmpfs.remove_private_dir(path), "path": path}
    except (ValueError, OSError) as error:
        module.fail_json(msg="cannot remove the temporary S3 credentials: %s" % error)


def main():
    argument_spec = presets.s3_argument_spec()
    argument_spec.update(presets.s3_keys_argument_spec())
    argument_spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        base_dir=dict(type="path"),
        allow_secrets_on_disk=dict(type="bool", default=False),
        max_age=dict(type="int", default=3600),
        path=dict(type="path"),
        dest=dict(type="path"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["access_key", "secret_key"]), ("state", "absent", ["path", "dest"], True)],
        supports_check_mode=True,
    )
    present = module.params["state"] == "present"
    if module.params["dest"]:
        module.exit_json(**(install(module) if present else uninstall(module)))
    module.exit_json(**(create(module) if present else remove(module)))


if __name__ == "__main__":
    main()
