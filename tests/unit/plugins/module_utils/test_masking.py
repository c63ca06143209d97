"""The one secret mask (plugins/module_utils/masking.py) and its two users: a database client's
complaint (engines/common.py) and the aws CLI's error output (s3/awscli.py)."""

import shutil

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils import masking
from ansible_collections.infrakt.backup.plugins.module_utils.engines import common
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import awscli

SECRET = "s3cr3t/+="


def test_mask_secrets_masks_every_occurrence():
    text = "key AKIAX secret s3cr3t/+= again s3cr3t/+="
    assert masking.mask_secrets(text, ["AKIAX", SECRET, ""]) == "key ******** secret ******** again ********"


def test_a_client_complaint_and_an_aws_error_are_masked_alike(tmp_path):
    (tmp_path / "credentials").write_text(f"[default]\naws_access_key_id = AKIAX\naws_secret_access_key = {SECRET}\n")
    (tmp_path / "config").write_text("[default]\n")

    def failing_run_command(command, **kwargs):
        """The aws CLI failing with the secret in its complaint."""
        return 255, b"", f"\nAn error occurred (Weird) when calling the ListObjectsV2 operation: {SECRET}\n"

    cli = awscli.AwsCli(failing_run_command, shutil.which("true"), str(tmp_path))
    with pytest.raises(awscli.AwsError) as raised:
        cli.list_objects("bucket", "prefix/")
    assert raised.value.stderr.strip().endswith("operation: " + masking.MASK)
    assert common.failure_message("psql", 1, f"psql: error: {SECRET}".encode(), SECRET) == (
        "psql failed: " + masking.MASK)
