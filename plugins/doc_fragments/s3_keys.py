# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The S3 keys and the settings of the aws CLI files written from them (module_utils
    # s3/presets.py: s3_keys_argument_spec, credential_files).
    DOCUMENTATION = r"""
options:
  access_key:
    description: S3 access key id.
    type: str
  secret_key:
    description: S3 secret access key. Keep it in Ansible Vault.
    type: str
  provider:
    description:
      - Provider preset. Every preset but V(aws) sets C(request_checksum_calculation) and
        C(response_checksum_validation) to C(when_required), because B2 and R2 reject the checksum
        headers recent aws CLIs send by default.
      - "Default region and addressing style: V(aws) us-east-1/virtual, V(digitalocean)
        nyc3/virtual, V(backblaze) us-west-004/virtual, V(cloudflare-r2) auto/path, V(minio)
        us-east-1/path, V(wasabi) us-east-1/virtual, V(custom) us-east-1/path. For V(aws),
        V(backblaze), V(wasabi) and V(digitalocean) the region in the O(endpoint_url) host name
        wins over the preset's."
      - Default V(custom) when O(endpoint_url) is set, else V(aws).
    type: str
    choices: [aws, digitalocean, backblaze, cloudflare-r2, minio, wasabi, custom]
  region:
    description: Signing region; default from the provider preset (see O(provider)).
    type: str
  addressing_style:
    description: Bucket addressing style; default from the provider preset.
    type: str
    choices: [auto, path, virtual]
  max_concurrent_requests:
    description: Parallel requests of one transfer (aws CLI C(s3.max_concurrent_requests)).
    type: int
    default: 10
  multipart_chunksize:
    description: Part size of multipart transfers, and the size from which they are used.
    type: str
    default: 16MB
  max_attempts:
    description: Attempts per request (standard retry mode); few, so that an unreachable endpoint fails fast.
    type: int
    default: 3
"""
