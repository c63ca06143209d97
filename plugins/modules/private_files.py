#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: private_files
short_description: Write files only their owner can read into a directory, in one module run
description:
  - Writes each file of O(files) and O(secret_files) under O(dest) (file 0600, directories 0700,
    missing parents 0700), atomically (a temporary name renamed over the old file), and leaves a
    file whose content is already the same untouched.
  - The content travels as a module argument (over the SSH channel with pipelining) and is
    written by the module itself, never through a temporary file on the server's disk as
    M(ansible.builtin.copy) with C(content) does; O(secret_files) is C(no_log).
  - The role infrakt.backup.backup_schedule writes a schedule's config (its database password
    and ping URL among it) and installs the collection's module_utils as the runtime of scheduled
    backups with it, all files in one module run.
version_added: 0.2.0
author: infrakt.backup developers (@infrakt)
options:
  dest:
    description: Absolute path of the directory the files go to.
    type: path
    required: true
  files:
    description: Relative path under O(dest) → text, for files whose content is no secret.
    type: dict
    default: {}
  secret_files:
    description: Relative path under O(dest) → text, for files holding secrets (never logged).
    type: dict
    default: {}
  exclusive:
    description:
      - Also remove the regular files under O(dest) that are not named in O(files) or
        O(secret_files) (C(__pycache__) directories are left alone), so that O(dest) holds exactly
        what is given.
    type: bool
    default: false
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - Nothing is written or removed; RV(written) and RV(removed) say what would be.
notes:
  - Relative paths must not be absolute, contain C(..), or name a symlink.
"""

EXAMPLES = r"""
- name: Write a schedule's config
  infrakt.backup.private_files:
    dest: /etc/infrakt/schedules
    secret_files:
      shop.json: "{{ shop_config | to_nice_json }}"
"""

RETURN = r"""
written:
  description: The files (absolute paths) whose content or mode changed, and directories made 0700, sorted.
  returned: always
  type: list
  elements: str
  sample: [/etc/infrakt/schedules/shop.json]
removed:
  description: The files removed by O(exclusive), sorted.
  returned: always
  type: list
  elements: str
  sample: []
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.infrakt.backup.plugins.module_utils import backup_files, names


def target_path(dest, relative):
    """Return `<dest>/<relative>`; raise ValueError for a relative path that is absolute, has
    empty or `..` parts, or otherwise leaves dest."""
    parts = relative.split("/")
    if relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError("%r is not a plain relative path under %s" % (relative, dest))
    return os.path.join(dest, *parts)


def needs_writing(path, text):
    """Return True when the file at path is missing, holds other text, or is not 0600."""
    return current_content(path) != text or stat.S_IMODE(os.lstat(path).st_mode) != 0o600


def loose_directories(dest, paths):
    """Return the existing directories from dest down to the given paths' parents that are not
    0700, sorted."""
    directories = set()
    for path in paths:
        directory = os.path.dirname(path)
        while directory.startswith(dest):
            directories.add(directory)
            directory = os.path.dirname(directory)
    return sorted(path for path in directories
                  if os.path.isdir(path) and stat.S_IMODE(os.stat(path).st_mode) != 0o700)


def current_content(path):
    """Return the text of the file at path, or None when there is none (a symlink is refused)."""
    if os.path.islink(path):
        raise ValueError("%s is a symlink" % path)
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def strangers(dest, wanted):
    """Return the regular files under dest not in wanted (absolute paths), __pycache__ skipped."""
    found = []
    for directory, subdirs, filenames in os.walk(dest):
        subdirs[:] = [name for name in subdirs if name != "__pycache__"]
        found += [os.path.join(directory, name) for name in filenames if os.path.join(directory, name) not in wanted]
    return sorted(found)


def sync(params, check_mode):
    """Write and (exclusive) remove as params say; return (written, removed)."""
    dest = os.path.normpath(names.validate_absolute_path(params["dest"], "dest"))
    given = dict(params["files"])
    given.update(params["secret_files"])
    paths = dict((target_path(dest, relative), text) for relative, text in given.items())
    written = sorted(path for path, text in paths.items() if needs_writing(path, text))
    tightened = loose_directories(dest, paths)
    removed = strangers(dest, paths) if params["exclusive"] and os.path.isdir(dest) else []
    if check_mode:
        return sorted(written + tightened), removed
    for directory in tightened:
        os.chmod(directory, 0o700)
    for path in written:
        backup_files.ensure_private_dirs(os.path.dirname(path))
        if not backup_files.write_private_atomically(path, paths[path]):
            os.chmod(path, 0o600)  # the same text with a looser mode (an older install)
    for path in removed:
        os.unlink(path)
    return written, removed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            files=dict(type="dict", default={}),
            secret_files=dict(type="dict", default={}, no_log=True),
            exclusive=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        written, removed = sync(module.params, module.check_mode)
    except (ValueError, OSError) as error:
        module.fail_json(msg="cannot write the files under %s: %s" % (module.params["dest"], error))
    module.exit_json(changed=bool(written or removed), written=written, removed=removed)


if __name__ == "__main__":
    main()
