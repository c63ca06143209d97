"""Provider presets and the aws CLI files they render (plugins/module_utils/s3/presets.py)."""

import pytest
from botocore.configloader import raw_config_parse

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import awscli, presets


def parse_config(text, tmp_path):
    """Return the default profile as botocore itself reads the config file text."""
    path = tmp_path / "config"
    path.write_text(text)
    return raw_config_parse(str(path))["default"]


@pytest.mark.parametrize(
    ("provider", "region", "style", "when_required"),
    [
        ("aws", "us-east-1", "virtual", False),
        ("digitalocean", "nyc3", "virtual", True),
        ("backblaze", "us-west-004", "virtual", True),
        ("cloudflare-r2", "auto", "path", True),
        ("minio", "us-east-1", "path", True),
        ("wasabi", "us-east-1", "virtual", True),
        ("custom", "us-east-1", "path", True),
    ],
)
def test_presets(provider, region, style, when_required, tmp_path):
    settings = presets.resolve_provider(provider)
    assert (settings["region"], settings["addressing_style"], settings["checksum_when_required"]) == (
        region, style, when_required)
    config = parse_config(presets.render_config(settings, 4, "32MB", 2), tmp_path)
    assert config["region"] == region
    assert config["s3"] == {
        "addressing_style": style, "max_concurrent_requests": "4", "multipart_chunksize": "32MB",
        "multipart_threshold": "32MB",
    }
    assert (config["retry_mode"], config["max_attempts"]) == ("standard", "2")
    checksum_keys = {"request_checksum_calculation", "response_checksum_validation"}
    if when_required:
        assert {config[key] for key in checksum_keys} == {"when_required"}
    else:
        assert not checksum_keys & set(config)


@pytest.mark.parametrize(
    ("provider", "endpoint", "region"),
    [
        ("backblaze", "https://s3.eu-central-003.backblazeb2.com", "eu-central-003"),
        ("wasabi", "https://s3.eu-central-1.wasabisys.com", "eu-central-1"),
        ("wasabi", "https://s3.wasabisys.com", "us-east-1"),
        ("digitalocean", "https://fra1.digitaloceanspaces.com", "fra1"),
        ("aws", "https://s3.eu-west-3.amazonaws.com", "eu-west-3"),
        ("cloudflare-r2", "https://0123abcd.r2.cloudflarestorage.com", "auto"),
        ("minio", "http://10.0.0.5:9000", "us-east-1"),
    ],
)
def test_region_comes_from_the_endpoint_host_when_not_given(provider, endpoint, region):
    assert presets.resolve_provider(provider, endpoint)["region"] == region


def test_explicit_settings_beat_the_preset():
    settings = presets.resolve_provider("backblaze", "https://s3.eu-central-003.backblazeb2.com", "us-west-004", "path")
    assert (settings["region"], settings["addressing_style"]) == ("us-west-004", "path")


@pytest.mark.parametrize(("provider", "endpoint", "region", "expected"), [
    ("aws", None, None, ("https://s3.us-east-1.amazonaws.com", "us-east-1")),
    ("aws", None, "eu-west-1", ("https://s3.eu-west-1.amazonaws.com", "eu-west-1")),
    ("aws", "https://s3.eu-central-1.amazonaws.com/", None, ("https://s3.eu-central-1.amazonaws.com", "eu-central-1")),
    ("backblaze", "https://s3.eu-central-003.backblazeb2.com", None,
     ("https://s3.eu-central-003.backblazeb2.com", "eu-central-003")),
    ("minio", "http://127.0.0.1:9000", None, ("http://127.0.0.1:9000", "us-east-1")),
])
def test_endpoint_and_region_fill_in_the_preset(provider, endpoint, region, expected):
    assert presets.endpoint_and_region(provider, endpoint, region) == expected


@pytest.mark.parametrize("provider", sorted(set(presets.PROVIDERS) - {"aws"}))
def test_only_aws_has_a_default_endpoint(provider):
    with pytest.raises(ValueError) as refused:
        presets.endpoint_and_region(provider, None, "EU WEST")  # before the region is looked at
    assert str(refused.value) == f"an endpoint URL is required for provider {provider!r} (only aws has a default)"


def test_endpoint_and_region_refuse_an_unknown_provider():
    with pytest.raises(ValueError, match="provider 'ceph' is not one of aws, backblaze"):
        presets.endpoint_and_region("ceph", "http://h")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: presets.resolve_provider("dropbox"), "provider"),
        (lambda: presets.resolve_provider("aws", region="EU West"), "region"),
        (lambda: presets.resolve_provider("aws", addressing_style="sideways"), "addressing style"),
        (lambda: presets.resolve_provider("minio", "ftp://host"), "endpoint URL"),
        (lambda: presets.render_config(presets.resolve_provider("aws"), multipart_chunksize="8 MB"),
         "multipart_chunksize"),
        (lambda: presets.render_config(presets.resolve_provider("aws"), max_concurrent_requests=0), "max_concurrent"),
        (lambda: presets.render_config(presets.resolve_provider("aws"), max_attempts=50), "max_attempts"),
    ],
)
def test_bad_settings_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "url", ["https://user:pw@host", "https://host/ x", "host:9000", "", "https://"]
)
def test_bad_endpoint_urls_are_refused(url):
    with pytest.raises(ValueError, match="endpoint URL"):
        names.validate_endpoint_url(url)




def test_credentials_file_round_trip(tmp_path):
    text = presets.render_credentials("AKIAEXAMPLE", "wJalr/K7MDENG+bPxRfiCY=%#;[x]")
    (tmp_path / "credentials").write_text(text)
    assert raw_config_parse(str(tmp_path / "credentials"))["default"] == {
        "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "wJalr/K7MDENG+bPxRfiCY=%#;[x]",
    }
    assert awscli.read_credentials(str(tmp_path)) == {
        "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "wJalr/K7MDENG+bPxRfiCY=%#;[x]",
    }


@pytest.mark.parametrize("secret", ["two words", "line\n[evil]", "", "tab\there", "ünïcode"])
def test_credentials_that_would_break_the_file_are_refused_without_showing_them(secret):
    with pytest.raises(ValueError) as raised:
        presets.render_credentials("AKIAEXAMPLE", secret)
    assert "secret key" in str(raised.value)
    assert not secret or secret not in str(raised.value)


