"""The aws CLI's errors and command lines (plugins/module_utils/s3/awscli.py): error mapping
from stderr the aws CLI really printed, the environment, every command line;
an aws CLI still running when the module is ended is stopped."""

import shutil
import signal
import subprocess
import sys

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.s3 import awscli
from ansible_collections.infrakt.backup.plugins.module_utils.termination import Terminated

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
    mapped, reason = awscli.classify_error(stderr, "infrakt-bench", "http://127.0.0.1:1", 1)
    assert mapped == code
    assert "\n" not in reason and reason[0].islower() and not reason.endswith(".")


def test_forbidden_head_request_counts_as_access_denied():
    code, reason = awscli.classify_error(
        "download failed: s3://b/k to - An error occurred (403) when calling the HeadObject operation: Forbidden\n",
        "b",
    )
    assert code == "AccessDenied"
    assert "bucket b" in reason


def test_messages_name_the_bucket_endpoint_and_expected_region():
    assert "bucket infrakt-bench does not exist at http://s3.example" in awscli.classify_error(
        STDERR_SAMPLES["NoSuchBucket"], "infrakt-bench", "http://s3.example")[1]
    assert "(it is in eu-west-1)" in awscli.classify_error(STDERR_SAMPLES["WrongRegion"], "b")[1]
    assert "AWS S3" in awscli.classify_error(STDERR_SAMPLES["EndpointUnreachable"], "b", None)[1]
    assert "provider preset" in awscli.classify_error(STDERR_SAMPLES["ChecksumHeaderRejected"], "b")[1]


def test_unknown_failures_keep_the_cli_code_and_last_line():
    stderr = "\nAn error occurred (SlowDown) when calling the PutObject operation: Please reduce your request rate.\n"
    assert awscli.classify_error(stderr, "b", None, 1) == (
        "SlowDown",
        "the aws CLI failed (exit code 1): An error occurred (SlowDown) when calling the PutObject operation: "
        "Please reduce your request rate.",
    )
    assert awscli.classify_error("", "b", None, 2) == (
        "AwsCliError", "the aws CLI failed (exit code 2): no error output")


def test_environment_points_at_the_files_and_turns_the_pager_off():
    assert awscli.credentials_environment("/dev/shm/infrakt/run-x") == {
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/shm/infrakt/run-x/credentials",
        "AWS_CONFIG_FILE": "/dev/shm/infrakt/run-x/config",
        "AWS_PAGER": "",
    }


# --- command lines ----------------------------------------------------------------------


def test_command_lines():
    assert awscli.list_objects_args("b", "-odd/db/") == [
        "s3api", "list-objects-v2", "--bucket=b", "--prefix=-odd/db/", "--output=json", "--delimiter=/",
    ]
    assert awscli.list_objects_args("b", "p/", delimiter=False, max_items=1) == [
        "s3api", "list-objects-v2", "--bucket=b", "--prefix=p/", "--output=json", "--max-items=1",
    ]
    assert awscli.upload_args("/x/f", "b", "p/db/f", {"sha256": DIGEST}) == [
        "s3", "cp", "--only-show-errors", "--metadata=sha256=" + DIGEST, "/x/f", "s3://b/p/db/f",
    ]
    assert awscli.download_args("b", "k", "/d/.f.partial") == [
        "s3", "cp", "--only-show-errors", "s3://b/k", "/d/.f.partial",
    ]
    assert awscli.put_stdin_args("b", "k") == ["s3", "cp", "--only-show-errors", "-", "s3://b/k"]
    assert awscli.get_stdout_args("b", "k") == ["s3", "cp", "--only-show-errors", "s3://b/k", "-"]
    assert awscli.delete_args("b", "k") == ["s3", "rm", "--only-show-errors", "s3://b/k"]
    assert awscli.head_object_args("b", "k") == ["s3api", "head-object", "--bucket=b", "--key=k", "--output=json"]




def test_an_interrupted_aws_cli_gets_sigint_then_sigkill(monkeypatch):
    # SIGINT makes the aws CLI abort its multipart upload; one that does not end is killed
    monkeypatch.setattr(awscli, "AWS_STOP_GRACE", 0.5)
    polite = subprocess.Popen(["sleep", "30"])
    awscli.stop_aws(polite)
    assert polite.returncode == -signal.SIGINT
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, "
                                 "signal.SIG_IGN); print(flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    stubborn.stdout.readline()  # SIGINT ignored from here on
    awscli.stop_aws(stubborn)
    assert stubborn.returncode == -signal.SIGKILL
    stubborn.stdout.close()
    awscli.stop_aws(polite)  # an ended one is left alone


def test_the_aws_cli_is_stopped_when_the_module_is_ended_while_it_runs(tmp_path):
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n")
    (tmp_path / "config").write_text("[default]\n")
    started = []

    def interrupted_run_command(command, before_communicate_callback, **kwargs):
        process = subprocess.Popen(["sleep", "30"])
        started.append(process)
        before_communicate_callback(process)
        raise Terminated(128 + signal.SIGHUP)  # the SSH session ended while the CLI ran

    cli = awscli.AwsCli(interrupted_run_command, shutil.which("true"), str(tmp_path))
    with pytest.raises(Terminated):
        cli.list_objects("bucket", "prefix/")
    assert started[0].returncode == -signal.SIGINT
