"""The pure parts of plugins/module_utils/aws.py: provider presets and the files they render,
command lines, error mapping (from stderr the aws CLI really printed), listing parsing."""

import json

import pytest
from botocore.configloader import raw_config_parse

from ansible_collections.infrakt.backup.plugins.module_utils import aws

FILENAME = "shop_postgres_20261124T210509Z.dump"
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

# stderr of aws-cli 1.46 (and the messages it relays) captured on this machine against moto
# with IAM auth, a closed port, an unresolvable name and a self-signed TLS server; the
# checksum and region samples are the messages B2 and AWS send, as quoted in FACTS.md / AWS docs.
STDERR_SAMPLES = {
    "InvalidAccessKeyId": (
        "upload failed: ./x.txt to s3://infrakt-bench/k An error occurred (InvalidAccessKeyId) when calling the "
        "PutObject operation: The AWS Access Key Id you provided does not exist in our records.\n"
    ),
    "SignatureDoesNotMatch": (
        "\nAn error occurred (SignatureDoesNotMatch) when calling the ListObjectsV2 operation: The request "
        "signature we calculated does not match the signature you provided. Check your key and signing method.\n"
    ),
    "AccessDenied": (
        "upload failed: ./x.txt to s3://infrakt-bench/k An error occurred (AccessDenied) when calling the "
        "PutObject operation: Access Denied\n"
    ),
    "NoSuchBucket": (
        "\nAn error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: The specified bucket does "
        "not exist\n"
    ),
    "EndpointUnreachable": (
        '\nCould not connect to the endpoint URL: "http://127.0.0.1:1/infrakt-bench?list-type=2&prefix=&'
        'delimiter=%2F&encoding-type=url"\n'
    ),
    "TLSError": (
        "\nSSL validation failed for https://127.0.0.1:45443/bucket?list-type=2&prefix=&delimiter=%2F&"
        "encoding-type=url [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
        "(_ssl.c:1006)\n"
    ),
    "ChecksumHeaderRejected": (
        "upload failed: ./big.dump to s3://b2-bucket/k An error occurred (InvalidArgument) when calling the "
        "CreateMultipartUpload operation: Unsupported header 'x-amz-sdk-checksum-algorithm' received for this "
        "API call.\n"
    ),
    "WrongRegion": (
        "\nAn error occurred (AuthorizationHeaderMalformed) when calling the ListObjectsV2 operation: The "
        "authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'\n"
    ),
    "CredentialsMissing": 'Unable to locate credentials. You can configure credentials by running "aws configure".\n',
    "NoSuchKey": "\nAn error occurred (404) when calling the HeadObject operation: Not Found\n",
}


@pytest.mark.parametrize(("code", "stderr"), sorted(STDERR_SAMPLES.items()))
def test_known_failures_map_to_their_code_and_one_sentence(code, stderr):
    mapped, reason = aws.classify_error(stderr, "infrakt-bench", "http://127.0.0.1:1", 1)
    assert mapped == code
    assert "\n" not in reason and reason[0].islower() and not reason.endswith(".")


def test_forbidden_head_request_counts_as_access_denied():
    code, reason = aws.classify_error(
        "download failed: s3://b/k to - An error occurred (403) when calling the HeadObject operation: Forbidden\n",
        "b",
    )
    assert code == "AccessDenied"
    assert "bucket b" in reason


def test_messages_name_the_bucket_endpoint_and_expected_region():
    assert "bucket infrakt-bench does not exist at http://s3.example" in aws.classify_error(
        STDERR_SAMPLES["NoSuchBucket"], "infrakt-bench", "http://s3.example")[1]
    assert "(it is in eu-west-1)" in aws.classify_error(STDERR_SAMPLES["WrongRegion"], "b")[1]
    assert "AWS S3" in aws.classify_error(STDERR_SAMPLES["EndpointUnreachable"], "b", None)[1]
    assert "provider preset" in aws.classify_error(STDERR_SAMPLES["ChecksumHeaderRejected"], "b")[1]


def test_unknown_failures_keep_the_cli_code_and_last_line():
    stderr = "\nAn error occurred (SlowDown) when calling the PutObject operation: Please reduce your request rate.\n"
    assert aws.classify_error(stderr, "b", None, 1) == (
        "SlowDown",
        "the aws CLI failed (exit code 1): An error occurred (SlowDown) when calling the PutObject operation: "
        "Please reduce your request rate.",
    )
    assert aws.classify_error("", "b", None, 2) == ("AwsCliError", "the aws CLI failed (exit code 2): no error output")


def test_strip_secrets_masks_every_occurrence():
    text = "key AKIAX secret s3cr3t/+= again s3cr3t/+="
    assert aws.strip_secrets(text, ["AKIAX", "s3cr3t/+=", ""]) == "key ******** secret ******** again ********"


# --- presets and the files they render -----------------------------------------------------


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
    settings = aws.resolve_provider(provider)
    assert (settings["region"], settings["addressing_style"], settings["checksum_when_required"]) == (
        region, style, when_required)
    config = parse_config(aws.render_config(settings, 4, "32MB", 2), tmp_path)
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
    assert aws.resolve_provider(provider, endpoint)["region"] == region


def test_explicit_settings_beat_the_preset():
    settings = aws.resolve_provider("backblaze", "https://s3.eu-central-003.backblazeb2.com", "us-west-004", "path")
    assert (settings["region"], settings["addressing_style"]) == ("us-west-004", "path")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: aws.resolve_provider("dropbox"), "provider"),
        (lambda: aws.resolve_provider("aws", region="EU West"), "region"),
        (lambda: aws.resolve_provider("aws", addressing_style="sideways"), "addressing style"),
        (lambda: aws.resolve_provider("minio", "ftp://host"), "endpoint URL"),
        (lambda: aws.render_config(aws.resolve_provider("aws"), multipart_chunksize="8 MB"), "multipart_chunksize"),
        (lambda: aws.render_config(aws.resolve_provider("aws"), max_concurrent_requests=0), "max_concurrent"),
        (lambda: aws.render_config(aws.resolve_provider("aws"), max_attempts=50), "max_attempts"),
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
        aws.validate_endpoint_url(url)




def test_credentials_file_round_trip(tmp_path):
    text = aws.render_credentials("AKIAEXAMPLE", "wJalr/K7MDENG+bPxRfiCY=%#;[x]")
    (tmp_path / "credentials").write_text(text)
    assert raw_config_parse(str(tmp_path / "credentials"))["default"] == {
        "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "wJalr/K7MDENG+bPxRfiCY=%#;[x]",
    }
    assert aws.read_credentials(str(tmp_path)) == {
        "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": "wJalr/K7MDENG+bPxRfiCY=%#;[x]",
    }


@pytest.mark.parametrize("secret", ["two words", "line\n[evil]", "", "tab\there", "ünïcode"])
def test_credentials_that_would_break_the_file_are_refused_without_showing_them(secret):
    with pytest.raises(ValueError) as raised:
        aws.render_credentials("AKIAEXAMPLE", secret)
    assert "secret key" in str(raised.value)
    assert not secret or secret not in str(raised.value)


def test_environment_points_at_the_files_and_turns_the_pager_off():
    assert aws.credentials_environment("/dev/shm/infrakt/run-x") == {
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/shm/infrakt/run-x/credentials",
        "AWS_CONFIG_FILE": "/dev/shm/infrakt/run-x/config",
        "AWS_PAGER": "",
    }


# --- command lines ----------------------------------------------------------------------


def test_command_lines():
    assert aws.list_objects_args("b", "-odd/db/") == [
        "s3api", "list-objects-v2", "--bucket=b", "--prefix=-odd/db/", "--output=json", "--delimiter=/",
    ]
    assert aws.list_objects_args("b", "p/", delimiter=False, max_items=1) == [
        "s3api", "list-objects-v2", "--bucket=b", "--prefix=p/", "--output=json", "--max-items=1",
    ]
    assert aws.upload_args("/x/f", "b", "p/db/f", {"sha256": DIGEST}) == [
        "s3", "cp", "--only-show-errors", "--metadata=sha256=" + DIGEST, "/x/f", "s3://b/p/db/f",
    ]
    assert aws.download_args("b", "k", "/d/.f.partial") == [
        "s3", "cp", "--only-show-errors", "s3://b/k", "/d/.f.partial",
    ]
    assert aws.put_stdin_args("b", "k") == ["s3", "cp", "--only-show-errors", "-", "s3://b/k"]
    assert aws.get_stdout_args("b", "k") == ["s3", "cp", "--only-show-errors", "s3://b/k", "-"]
    assert aws.download_sidecars_args("b", "p/db/", "/tmp/s") == [
        "s3", "cp", "--only-show-errors", "--recursive", "--exclude=*", "--include=*.sha256", "s3://b/p/db/", "/tmp/s",
    ]
    assert aws.delete_args("b", "k") == ["s3", "rm", "--only-show-errors", "s3://b/k"]
    assert aws.head_object_args("b", "k") == ["s3api", "head-object", "--bucket=b", "--key=k", "--output=json"]


# --- listings and checksums -------------------------------------------------------------

# list-objects-v2 output of aws-cli 1.46 (two pages merged by the CLI look the same).
LISTING = json.loads(
    """{
    "Contents": [
        {"Key": "p/shop/shop_postgres_20261124T210509Z.dump", "LastModified": "2026-11-24T21:55:28.000Z",
         "ETag": "\\"x\\"", "ChecksumAlgorithm": ["CRC32"], "Size": 67108864, "StorageClass": "STANDARD"},
        {"Key": "p/shop/shop_postgres_20261124T210509Z.dump.sha256", "LastModified": "2026-11-24T21:55:29.000Z",
         "Size": 103},
        {"Key": "p/shop/shop_postgres_20261123T010000Z.dump", "LastModified": "2026-11-23T01:00:05+00:00",
         "Size": 10},
        {"Key": "p/shop/orphan.dump.sha256", "LastModified": "2026-11-23T01:00:05.000Z", "Size": 100},
        {"Key": "p/shop/notes.txt", "LastModified": "2026-11-22T10:00:00.123Z", "Size": 3}
    ],
    "RequestCharged": null,
    "Prefix": "p/shop/"
}"""
)["Contents"]


def test_split_listing_folds_sidecars_and_sorts():
    objects, sidecars = aws.split_listing(LISTING, "p/shop/")
    assert [entry["filename"] for entry in objects] == ["notes.txt", "shop_postgres_20261123T010000Z.dump", FILENAME]
    assert sidecars == [FILENAME + ".sha256"]
    assert objects[2] == {
        "filename": FILENAME, "key": "p/shop/" + FILENAME, "size": 67108864,
        "last_modified": "2026-11-24T21:55:28Z", "sha256": None,
    }
    assert objects[0]["last_modified"] == "2026-11-22T10:00:00Z"


def test_split_listing_skips_deeper_keys_and_the_prefix_itself():
    contents = [{"Key": "p/shop/", "LastModified": "2026-11-24T21:55:28Z", "Size": 0},
                {"Key": "p/shop/old/x.dump", "LastModified": "2026-11-24T21:55:28Z", "Size": 1}]
    assert aws.split_listing(contents, "p/shop/") == ([], [])


@pytest.mark.parametrize(
    ("timestamp", "iso"),
    [("2026-11-24T21:55:28.000Z", "2026-11-24T21:55:28Z"), ("2026-11-24T22:55:28+01:00", "2026-11-24T21:55:28Z"),
     ("2026-11-24T21:55:28", "2026-11-24T21:55:28Z")],
)
def test_iso_utc(timestamp, iso):
    assert aws.iso_utc(timestamp) == iso


@pytest.mark.parametrize("value", [DIGEST, DIGEST.upper(), f" {DIGEST}\n"])
def test_sha256_is_normalized(value):
    assert aws.validate_sha256(value) == DIGEST


@pytest.mark.parametrize("value", [None, "", DIGEST[:-1], DIGEST + "0", "g" * 64])
def test_bad_sha256_is_refused(value):
    with pytest.raises(ValueError, match="sha256"):
        aws.validate_sha256(value)
