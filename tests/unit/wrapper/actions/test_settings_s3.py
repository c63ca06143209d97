"""actions/settings_s3.py: endpoint validation, provider presets, and the save/show/delete flow."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.infrakt.backup.plugins.module_utils.names import validate_credential, validate_endpoint_url
from infrakt_backup.actions import settings_s3
from infrakt_backup.actions.settings_s3 import endpoint_and_region
from infrakt_backup.errors import BadInput

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(("url", "normalized"), [
    ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
    ("https://s3.us-west-004.backblazeb2.com/", "https://s3.us-west-004.backblazeb2.com"),
    ("HTTPS://nyc3.digitaloceanspaces.com", "https://nyc3.digitaloceanspaces.com"),
    ("http://[::1]:9000", "http://[::1]:9000"),
    ("https://0123abcd.r2.cloudflarestorage.com", "https://0123abcd.r2.cloudflarestorage.com"),
])
def test_endpoints_accepted(url, normalized):
    assert validate_endpoint_url(url) == normalized


@pytest.mark.parametrize(("url", "complaint"), [
    ("", "http:// or https://"),
    ("s3.amazonaws.com", "must start with http"),
    ("ftp://host", "must start with http"),
    ("file:///etc/passwd", "must start with http"),
    ("http://user:pass@host", "user name or password"),
    ("http://user@host", "user name or password"),
    ("http://host/bucket", "path, query or fragment"),
    ("http://host/?x=1", "path, query or fragment"),
    ("http://host?", "path, query or fragment"),
    ("http://host#frag", "path, query or fragment"),
    ("http://", "has no host"),
    ("http://bad_host:9000", "not a valid host"),
    ("http://host:0", "invalid port"),
    ("http://host:99999", "invalid port"),
    ("http://host:x", "invalid port"),
    ("http://host name", "without spaces"),
    ("http://host\n", "without spaces"),
])
def test_endpoints_refused(url, complaint):
    with pytest.raises(ValueError, match=complaint):
        validate_endpoint_url(url)


@pytest.mark.parametrize("url", ["https://AKIAX:s3cr3t pw@s3.example.com", "AKIAX:s3cr3t@s3.example.com",
                                 "http://user:s3cr3t@host/path"])
def test_a_password_in_the_endpoint_is_never_echoed(url):
    with pytest.raises(ValueError, match="user name or password") as refused:
        validate_endpoint_url(url)
    assert "s3cr3t" not in str(refused.value)


@given(st.text())
def test_an_accepted_endpoint_is_only_scheme_host_and_port(url):
    try:
        normalized = validate_endpoint_url(url)
    except ValueError:
        return
    scheme, rest = normalized.split("://", 1)
    assert scheme in ("http", "https")
    assert not any(character in rest for character in "/?#@ \t\n\\")


def test_access_key_is_one_word():
    assert validate_credential("AKIA123", "access key") == "AKIA123"
    for bad in ("", "AKIA 123", "AKIA\n123"):
        with pytest.raises(ValueError, match="access key"):
            validate_credential(bad, "access key")


@pytest.mark.parametrize(("provider", "endpoint", "region", "expected"), [
    ("aws", None, None, ("https://s3.us-east-1.amazonaws.com", "us-east-1")),
    ("aws", None, "eu-west-1", ("https://s3.eu-west-1.amazonaws.com", "eu-west-1")),
    ("aws", "https://s3.eu-central-1.amazonaws.com", None, ("https://s3.eu-central-1.amazonaws.com", "eu-central-1")),
    ("digitalocean", "https://ams3.digitaloceanspaces.com", None, ("https://ams3.digitaloceanspaces.com", "ams3")),
    ("digitalocean", "https://example.com", None, ("https://example.com", "nyc3")),
    ("backblaze", "https://s3.eu-central-003.backblazeb2.com", None,
     ("https://s3.eu-central-003.backblazeb2.com", "eu-central-003")),
    ("cloudflare-r2", "https://acct.r2.cloudflarestorage.com", None, ("https://acct.r2.cloudflarestorage.com", "auto")),
    ("wasabi", "https://s3.wasabisys.com", None, ("https://s3.wasabisys.com", "us-east-1")),
    ("wasabi", "https://s3.eu-central-1.wasabisys.com", None,
     ("https://s3.eu-central-1.wasabisys.com", "eu-central-1")),
    ("minio", "http://127.0.0.1:9000", None, ("http://127.0.0.1:9000", "us-east-1")),
    ("custom", "http://127.0.0.1:9000", "garage", ("http://127.0.0.1:9000", "garage")),
])
def test_provider_presets(provider, endpoint, region, expected):
    assert endpoint_and_region(provider, endpoint, region) == expected


def test_only_aws_may_leave_the_endpoint_out():
    with pytest.raises(BadInput, match="endpoint URL is required for provider 'minio'"):
        endpoint_and_region("minio", None, None)
    with pytest.raises(BadInput, match="provider 'ceph' is not one of"):
        endpoint_and_region("ceph", "http://h", None)
    with pytest.raises(BadInput, match="region 'EU WEST' is not valid"):
        endpoint_and_region("aws", None, "EU WEST")


def save(store, ask_secret=None, **values):
    def refuse():
        raise AssertionError("the secret was asked for")

    settings = {"endpoint_url": "http://127.0.0.1:9000", "bucket": "backups", "access_key": "AKIA1"} | values
    return settings_s3.save(store, ask_secret=ask_secret or refuse, **settings)


def test_save_asks_for_the_secret_only_when_none_is_stored(store):
    asked = []
    saved = save(store, ask_secret=lambda: asked.append(1) or SECRET, prefix="/prod/db/", provider="minio")
    assert asked == [1]
    assert saved["secret_key"] == "****EKEY" and saved["prefix"] == "prod/db" and not saved["secret_key_kept"]
    again = save(store, bucket="other-bucket")
    assert again["secret_key_kept"] and again["bucket"] == "other-bucket"
    assert store.s3_config().secret_key == SECRET
    assert save(store, secret_key="another-secret-value-0000")["secret_key"] == "****0000"


def test_an_update_keeps_what_it_leaves_out(store):
    b2 = {"endpoint_url": "https://s3.eu-central-003.backblazeb2.com", "provider": "backblaze"}
    first = save(store, ask_secret=lambda: SECRET, prefix="prod", region="eu-central-003", **b2)
    assert (first["provider"], first["region"], first["prefix"]) == ("backblaze", "eu-central-003", "prod")
    rotated = save(store, endpoint_url=b2["endpoint_url"], access_key="AKIA2")  # e.g. a new key pair
    assert (rotated["provider"], rotated["region"], rotated["prefix"]) == ("backblaze", "eu-central-003", "prod")
    moved = save(store, endpoint_url="http://127.0.0.1:9000", provider="minio", prefix="")
    assert (moved["provider"], moved["region"], moved["prefix"]) == ("minio", "us-east-1", "")


@pytest.mark.parametrize(("values", "complaint"), [
    ({"bucket": "Bad_Bucket"}, "not a valid S3 bucket"),
    ({"prefix": "a/../b"}, "'.' or '..'"),
    ({"access_key": "has space"}, "access key"),
    ({"endpoint_url": "http://host/path"}, "path"),
])
def test_bad_values_are_refused_before_the_secret_is_asked_for(store, values, complaint):
    with pytest.raises(BadInput, match=complaint):
        save(store, **values)
    assert store.s3_config() is None


def test_a_secret_with_whitespace_is_refused_without_quoting_it(store):
    with pytest.raises(BadInput) as raised:
        save(store, secret_key="two words-0123456789")
    assert "two words" not in raised.value.message


def test_show_and_delete(store):
    assert settings_s3.show(store) == {"configured": False}
    save(store, secret_key=SECRET)
    shown = settings_s3.show(store)
    assert shown["configured"] and shown["secret_key"] == "****EKEY" and SECRET not in str(shown)
    assert shown["created_at"].endswith("Z")
    nothing_scheduled = {"servers_updated": [], "servers_failed": []}
    assert settings_s3.delete(store) == {"deleted": True, "schedules": nothing_scheduled}
    assert settings_s3.delete(store) == {"deleted": False, "schedules": nothing_scheduled}
