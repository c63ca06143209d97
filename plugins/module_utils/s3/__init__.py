# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 through the aws CLI on the server, in three files:

- presets.py: provider knowledge (regions, addressing styles, checksum settings, endpoints)
  and the rendering of the aws CLI `config` and `credentials` texts.
- awscli.py: the aws command lines, the AwsCli runner, its error rules (AwsError,
  classify_error) and the credentials it reads and strips.
- operations.py: the s3_object modes (upload, list, download, delete, probe) and their helpers.
"""
