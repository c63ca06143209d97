"""actions/key_rotate.py."""

from infrakt_backup.actions import key_rotate


def test_rotate_reports_count_and_key_file(store):
    store.save_s3_config(provider="custom", endpoint_url="http://h", bucket="bkt", region="us-east-1",
                         access_key="AK", secret_key="secret-value-123")
    assert key_rotate.rotate(store) == {"secrets": 1, "key_file": str(store.home / "master.key")}
    assert store.s3_config().secret_key == "secret-value-123"
