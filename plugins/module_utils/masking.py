# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one mask for secrets in what the collection reports: a database client's complaint
(engines/common.py failure_message) and the aws CLI's error output (s3/awscli.py).

Pure Python with no imports from Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

MASK = "********"


def mask_secrets(text, secrets):
    """Return text with every occurrence of each non-empty string of secrets replaced by MASK."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text
