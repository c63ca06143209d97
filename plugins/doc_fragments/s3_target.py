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
        (RV(infrakt.backup.s3_credentials#module:path)); required with O(bucket).
    type: path
  aws_bin:
    description: Absolute path of the aws CLI on the server (the infrakt.backup.awscli role sets C(infrakt_aws_bin)).
    type: path
    default: /opt/infrakt/awscli/bin/aws
  endpoint_url:
    description: S3 endpoint URL (C(https://host[:port])); leave it out for AWS itself.
    type: str
"""
