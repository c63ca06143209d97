"""Bad input, in one table a reader can scan: every malformed value a user or a playbook can hand
the CLI or a module gets one clear line and exit code 2 (a module: `failed` with a one-line
message), never a traceback, and nothing runs — the CLI's only way to a server,
ansible_runner.run, is a tripwire here, and the modules' messages are the validators' own, not
a client's complaint. Then hypothesis throws generated names at the validators and the S3 key
builder: whatever they accept is safe in a file name, an S3 key and a shell word."""

import shlex
import string

import ansible_runner
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.modules import backup_info, db_backup, db_restore, s3_object
from infrakt_backup.cli import cli
from infrakt_backup.store import Store

GOOD_BACKUP = "shop_postgres_20261124T210509Z.dump"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3_SET = ["settings", "s3", "set", "--provider", "minio", "--endpoint-url", "http://127.0.0.1:9000",
          "--bucket", "backups", "--access-key", "AKIA1"]
HOSTILE = ["a;b", "$(id)", "`id`", "a b", "../x", "x/y", "-x", "caf\u00e9", "a\nb", "", "a" * 64]

# (CLI arguments, a piece of the one-line error). A registered server `web1` and PostgreSQL
# database `shop` exist, S3 settings too, so only the bad value can be what is refused.
CLI_CASES = [
    # server add
    (["server", "add", "bad;name", "--host", "10.0.0.2"], "server name"),
    (["server", "add", "$(id)", "--host", "10.0.0.2"], "server name"),
    (["server", "add", "../web", "--host", "10.0.0.2"], "server name"),
    (["server", "add", "caf\u00e9", "--host", "10.0.0.2"], "server name"),
    (["server", "add", "--host", "10.0.0.2", "--", "-web"], "server name"),
    (["server", "add", "-web", "--host", "10.0.0.2"], "no such option"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--bogus"], "no such option"),
    (["server", "add", "web2"], "missing option '--host'"),
    (["server", "add", "web2", "--host", "-oProxyCommand=touch /tmp/owned"], "host"),
    (["server", "add", "web2", "--host", "10.0.0.2;id"], "host"),
    (["server", "add", "web2", "--host", "a b"], "host"),
    (["server", "add", "web2", "--host", "$(id)"], "host"),
    (["server", "add", "web2", "--host", ""], "host"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--port", "0"], "port"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--port", "65536"], "port"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--port", "twenty"], "port"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--user", "root;id"], "user"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--user", "-oProxyCommand=x"], "user"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--backup-dir", "relative/dir"], "backup"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--backup-dir", "/opt/../etc"], "backup"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--backup-dir", "/opt/a b"], "backup"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--python", "python3"], "python"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--python", "/usr/bin/python3;id"], "python"),
    (["server", "add", "web2", "--host", "10.0.0.2", "--ssh-key", "/tmp/a\nb"], "ssh"),
    (["server", "add", "web1", "--host", "10.0.0.2"], "web1"),  # already registered
    # db add
    (["db", "add", "bad name", "--server", "web1", "--engine", "postgres"], "database name"),
    (["db", "add", "shop;drop", "--server", "web1", "--engine", "postgres"], "database name"),
    (["db", "add", "../shop", "--server", "web1", "--engine", "postgres"], "database name"),
    (["db", "add", "a" * 64, "--server", "web1", "--engine", "postgres"], "database name"),
    (["db", "add", "cart", "--server", "nowhere", "--engine", "postgres"], "nowhere"),
    (["db", "add", "cart", "--server", "web1", "--engine", "oracle"], "engine"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--database", "$(id)"], "database"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--user", "a b"], "user"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--host", "-oProxyCommand=x"], "host"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--port", "-1"], "port"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--port", "99999"], "port"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--container", "db;id"], "container"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--restart-command", "x"], "redis"),
    (["db", "add", "cache", "--server", "web1", "--engine", "redis", "--restart-command", "a\nb"], "restart"),
    (["db", "add", "cache", "--server", "web1", "--engine", "redis", "--data-dir", "var/lib/redis"], "data dir"),
    (["db", "add", "cart", "--server", "web1", "--engine", "postgres", "--data-dir", "/var/lib/x"], "redis"),
    (["db", "add", "shop", "--server", "web1", "--engine", "postgres"], "shop"),  # already registered
    # settings s3 set
    ([*S3_SET[:8], "b", *S3_SET[9:]], "bucket"),
    ([*S3_SET[:8], "Bad_Bucket", *S3_SET[9:]], "bucket"),
    ([*S3_SET[:8], "-bucket", *S3_SET[9:]], "bucket"),
    ([*S3_SET[:8], "bucket;id", *S3_SET[9:]], "bucket"),
    ([*S3_SET[:8], "a" * 64, *S3_SET[9:]], "bucket"),
    ([*S3_SET[:6], "ftp://127.0.0.1:9000", *S3_SET[7:]], "endpoint"),
    ([*S3_SET[:6], "http://user:pw@127.0.0.1:9000", *S3_SET[7:]], "endpoint"),
    ([*S3_SET[:6], "http://127.0.0.1:9000/path?q", *S3_SET[7:]], "endpoint"),
    ([*S3_SET[:6], "http://127.0.0.1:99999", *S3_SET[7:]], "endpoint"),
    ([*S3_SET[:6], "not a url", *S3_SET[7:]], "endpoint"),
    ([*S3_SET, "--region", "US East"], "region"),
    ([*S3_SET, "--region", "us-east-1;id"], "region"),
    ([*S3_SET, "--prefix", "../escape"], "prefix"),
    ([*S3_SET, "--prefix", "a//b"], "prefix"),
    ([*S3_SET, "--prefix", "a b"], "prefix"),
    ([*S3_SET, "--prefix", "$(id)"], "prefix"),
    ([*S3_SET[:10], "AKIA 1"], "access"),
    ([*S3_SET[:10], "AKIA\u00e91"], "access"),
    (["settings", "s3", "set", "--provider", "dropbox", "--bucket", "backups", "--access-key", "AKIA1"], "provider"),
    # backup create / list / restore
    (["backup", "create", "$(id)"], "database name"),
    (["backup", "create", "nosuchdb"], "nosuchdb"),
    (["backup", "list", "a;b"], "database name"),
    (["backup", "list", "../shop"], "database name"),
    (["backup", "restore", "shop", "../../etc/passwd", "--yes"], "plain name"),
    (["backup", "restore", "shop", "/etc/passwd", "--yes"], "plain name"),
    (["backup", "restore", "shop", "other_postgres_20261124T210509Z.dump", "--yes"], "not a backup of"),
    (["backup", "restore", "shop", GOOD_BACKUP + ".sha256", "--yes"], "not a backup of"),
    (["backup", "restore", "shop", "shop_postgres_20261324T210509Z.dump", "--yes"], "not a backup of"),
    (["backup", "restore", "shop", "shop_postgres_20261124T210509Z.dump;id", "--yes"], "not a backup of"),
    (["backup", "restore", "shop", "shop_postgres_20261124T210509Z.dump\n", "--yes"], "not a backup of"),
    (["backup", "restore", "shop", GOOD_BACKUP], "--yes"),  # no terminal, no --yes
    (["backup", "create", "shop", "--timeout", "0"], "timeout"),
    (["backup", "create", "shop", "--lock-timeout", "-5"], "lock timeout"),
    (["backup", "create", "shop", "--timeout", "1h"], "--timeout"),
    (["backup", "restore", "shop", GOOD_BACKUP, "--yes", "--timeout", "0"], "timeout"),
    (["server", "provision", "nowhere"], "nowhere"),
    (["server", "remove", "$(id)"], "server name"),
    (["db", "remove", "a b"], "database name"),
]


@pytest.fixture
def tripwire(monkeypatch):
    """Make ansible_runner.run, the CLI's only way to a server, fail the test when called."""

    def run(**_kwargs):
        raise AssertionError("bad input reached ansible-runner")

    monkeypatch.setattr(ansible_runner, "run", run)


@pytest.fixture
def cli_home(tmp_path, monkeypatch, tripwire):
    """An INFRAKT_HOME with server web1, PostgreSQL database shop and S3 settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("INFRAKT_HOME", str(home))
    monkeypatch.setenv("INFRAKT_S3_SECRET_KEY", SECRET)
    store = Store(home)
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres", password="pw")
    result = CliRunner().invoke(cli, S3_SET, prog_name="infrakt-backup")
    assert result.exit_code == 0, result.output
    return home


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[" ".join(args)[:60] for args, _ in CLI_CASES])
def test_cli_refuses_bad_input_in_one_line_with_exit_2(cli_home, args, fragment):
    result = CliRunner().invoke(cli, args, prog_name="infrakt-backup")
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("infrakt-backup: error: "), result.stderr
    assert fragment.lower() in result.stderr.lower()
    assert SECRET not in result.output


def test_the_cli_table_has_at_least_sixty_rows():
    assert len(CLI_CASES) >= 60


# (module, arguments, a piece of the failure message): each refused before any client or aws runs.
DB = dict(engine="postgres", db_name="shop", host="127.0.0.1", port=1)
S3 = dict(bucket="backups", db_name="shop")  # aws_bin: a tripwire script, credentials_dir: empty (see the test)
MODULE_CASES = [
    (db_backup, dict(DB, db_name="shop;id"), "db_name"),
    (db_backup, dict(DB, db_name="../shop"), "db_name"),
    (db_backup, dict(DB, database="$(id)"), "database"),
    (db_backup, dict(DB, user="a b"), "user"),
    (db_backup, dict(DB, host="-oProxyCommand=x"), "host"),
    (db_backup, dict(DB, port=70000), "port"),
    (db_backup, dict(DB, container="c;id"), "container"),
    (db_backup, dict(DB, socket="relative.sock", host=None), "socket"),
    (db_backup, dict(DB, socket="/run/x.sock"), "either host or socket"),
    (db_backup, dict(DB, restart_command="true"), "redis"),
    (db_restore, dict(DB, filename=GOOD_BACKUP, data_dir="/var/lib/redis"), "data_dir only applies"),
    (db_backup, dict(DB, timeout=0), "timeout"),
    (db_restore, dict(DB, filename=GOOD_BACKUP, lock_timeout=-1), "lock_timeout"),
    (db_restore, dict(DB, filename="../../etc/passwd"), "plain name"),
    (db_restore, dict(DB, filename="other_postgres_20261124T210509Z.dump"), "not a backup of"),
    (db_restore, dict(DB, filename="shop_redis_20261124T210509Z.rdb"), "redis backup"),
    (backup_info, dict(db_name="a b"), "db_name"),
    (s3_object, dict(S3, mode="list", bucket="b"), "bucket"),
    (s3_object, dict(S3, mode="list", bucket="Bad_Bucket"), "bucket"),
    (s3_object, dict(S3, mode="list", prefix="../x"), "prefix"),
    (s3_object, dict(S3, mode="list", db_name="$(id)"), "database name"),
    (s3_object, dict(S3, mode="list", endpoint_url="ftp://x"), "endpoint"),
    (s3_object, dict(S3, mode="download", filename="../../etc/passwd"), "plain name"),
    (s3_object, dict(S3, mode="delete", filename="shop_postgres_20261124T210509Z.dump;id"), "not a backup of"),
]


@pytest.mark.parametrize(("module", "args", "fragment"), MODULE_CASES,
                         ids=[f"{m.__name__.rsplit('.', 1)[-1]}-{sorted(a.items())}"[:70] for m, a, _ in MODULE_CASES])
def test_modules_refuse_bad_parameters_in_one_line(run_module, tmp_path, module, args, fragment):
    args = {key: value for key, value in args.items() if value is not None}
    ran = tmp_path / "aws-ran"
    if module is s3_object:
        aws = tmp_path / "aws"
        aws.write_text(f"#!/bin/sh\ntouch {ran}\n")
        aws.chmod(0o700)
        (tmp_path / "credentials").mkdir()
        (tmp_path / "credentials" / "credentials").write_text(
            f"[default]\naws_access_key_id = AKIA1\naws_secret_access_key = {SECRET}\n")
        (tmp_path / "credentials" / "config").write_text("[default]\nregion = us-east-1\n")
        args.update(aws_bin=str(aws), credentials_dir=str(tmp_path / "credentials"))
    else:
        args["backup_dir"] = str(tmp_path)
    result = run_module(module, args)
    assert result["failed"], result
    assert "\n" not in result["msg"] and fragment.lower() in result["msg"].lower(), result["msg"]
    assert not ran.exists(), "aws ran before the bad parameter was refused"


# ---------------------------------------------------------------------------------------------
# Generated names

SAFE_NAME = set(string.ascii_letters + string.digits + "_.-")
# Arbitrary text almost never lands on a valid value, so each strategy mixes it with near-valid
# values (the right alphabet and shape, any length, impossible dates): both branches run.
NAMES = st.one_of(st.text(max_size=80), st.from_regex(r"[A-Za-z0-9_.\-][A-Za-z0-9_.\-;$ /]{0,70}", fullmatch=True))
PREFIXES = st.one_of(st.text(max_size=60), st.from_regex(r"[A-Za-z0-9_./\-]{0,40}", fullmatch=True))
SEGMENTS = st.one_of(st.text(max_size=60), st.from_regex(r"[A-Za-z0-9_.+\-*? ]{0,40}", fullmatch=True))
STAMPS = st.one_of(st.datetimes().map(lambda moment: moment.strftime("%Y%m%dT%H%M%SZ")),
                   st.from_regex(r"[0-9]{8}T[0-9]{6}Z?", fullmatch=True))
BACKUP_NAMES = st.one_of(st.text(max_size=80), st.builds(
    "shop_{}_{}{}".format, st.sampled_from(["postgres", "mariadb", "mysql", "redis", "mongo", "oracle"]), STAMPS,
    st.from_regex(r"\.(dump|sql|rdb|archive|tar)(\.(gz|zst|xz))?(\.age)?(\.sha256)?", fullmatch=True)))


@settings(max_examples=400, deadline=None)
@given(NAMES)
def test_a_name_the_validator_accepts_is_one_safe_word(value):
    try:
        accepted = names.validate_name(value, "name")
    except ValueError as error:
        assert "\n" not in str(error)
        return
    assert accepted == value and set(value) <= SAFE_NAME and value[0].isalnum() and len(value) <= 63
    assert shlex.quote(value) == value


@settings(max_examples=400, deadline=None)
@given(PREFIXES, NAMES, SEGMENTS)
def test_an_s3_key_is_built_only_from_valid_parts_and_stays_under_its_prefix(prefix, db_name, filename):
    try:
        key = names.object_key(prefix, db_name, filename)
    except ValueError as error:
        assert "\n" not in str(error)
        return
    normalized = names.normalize_prefix(prefix)
    assert key == "/".join(part for part in (normalized, db_name, filename) if part)
    assert not key.startswith("/") and "//" not in key and ".." not in key.split("/")
    assert shlex.quote(key) == key


@settings(max_examples=300, deadline=None)
@given(BACKUP_NAMES)
def test_a_backup_filename_the_validator_accepts_is_a_plain_name_of_that_database(filename):
    try:
        names.validate_backup_filename("shop", filename)
    except ValueError as error:
        assert "\n" not in str(error)
        return
    assert filename.startswith("shop_") and "/" not in filename and shlex.quote(filename) == filename
    assert not filename.endswith(".sha256")  # a sidecar is never taken for its backup
