# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every module of action group infrakt.backup.s3 (s3_object, s3_credentials)
takes, so that one C(module_defaults) entry for C(group/infrakt.backup.s3) fits them all (one
argument spec in module_utils/s3/presets.py, one description here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  endpoint_url:
    description:
      - S3 endpoint URL (C(https://host[:port])); leave it out for AWS itself.
      - M(infrakt.backup.s3_object) sends every request there; M(infrakt.backup.s3_credentials)
        reads the region in its host name.
    type: str
"""
