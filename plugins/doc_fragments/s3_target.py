# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  bucket:
    description:
      - Bucket of the backups in S3. Without it the module works on the server's local backups
        only.
    type: str
  prefix:
    description: Key prefix under which each database gets a folder (segments of C([A-Za-z0-9_.-]), no C(..)).
    type: str
    default: ""
  credentials_dir:
    description:
      - Directory with the aws CLI C(credentials) and C(config) files
        (RV(infrakt.backup.s3_credentials#module:path)).
      - "O(bucket) needs either this or O(access_key) and O(secret_key), which the module then
        writes itself, for its own run, into a 0600 file in a 0700 directory on tmpfs that it
        removes whatever happens (a signal or a dropped SSH session included): credentials,
        operation and removal in one module run."
    type: path
  credentials_base_dir:
    description:
      - Directory on tmpfs under which the module writes O(access_key) and O(secret_key) for its
        run; the default is that of O(infrakt.backup.s3_credentials#module:base_dir). Not used with
        O(credentials_dir).
    type: path
  aws_bin:
    description: Absolute path of the aws CLI on the server (the infrakt.backup.awscli role sets C(infrakt_aws_bin)).
    type: path
    default: /opt/infrakt/awscli/bin/aws
  endpoint_url:
    description: S3 endpoint URL (C(https://host[:port])); leave it out for AWS itself.
    type: str
"""
