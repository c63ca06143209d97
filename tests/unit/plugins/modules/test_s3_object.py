"""s3_object's arguments (module s3_object): local paths from backup_dir, what it refuses
before any aws command runs."""

import pytest

from ansible_collections.infrakt.backup.plugins.modules import s3_object

FILENAME = "shop_postgres_20261124T210509Z.dump"


def test_upload_source_is_src_else_backup_dir_db_name_filename():
    params = {"src": None, "backup_dir": "/srv/backups", "db_name": "shop", "filename": FILENAME}
    assert s3_object.upload_source(params) == f"/srv/backups/shop/{FILENAME}"
    assert s3_object.upload_source(dict(params, src="/tmp/" + FILENAME)) == "/tmp/" + FILENAME


@pytest.mark.parametrize("filename", ["../other/" + FILENAME, "other_postgres_20261124T210509Z.dump"])
def test_upload_source_refuses_a_filename_of_another_place(filename):
    with pytest.raises(ValueError):
        s3_object.upload_source({"src": None, "backup_dir": "/srv/backups", "db_name": "shop", "filename": filename})


def test_upload_needs_src_or_filename(run_module, tmp_path):
    result = run_module(s3_object, dict(mode="upload", credentials_dir=str(tmp_path), bucket="bench", db_name="shop"))
    assert result["failed"] and "src, filename" in result["msg"]


def test_a_missing_aws_cli_is_one_sentence(run_module, tmp_path):
    result = run_module(s3_object, dict(mode="probe", aws_bin=str(tmp_path / "aws"), credentials_dir=str(tmp_path),
                                        bucket="bench"))
    assert result["error_code"] == "AwsCliMissing"
    assert result["msg"].startswith(f"S3 probe of bucket bench failed: the aws CLI is not installed at {tmp_path}/aws")
