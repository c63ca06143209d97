"""cli.py in-process (click's CliRunner: stdin is never a terminal here): options, secret
input, rendering, JSON, exit codes and error lines. tests/integration/test_cli_store.py runs
the installed command in subprocesses."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from infrakt_backup import __version__
from infrakt_backup.actions import backup_create, backup_list, backup_restore, settings_s3
from infrakt_backup.cli import cli
from infrakt_backup.store import Store
from tests.unit.wrapper.conftest import HOST_KEY_FINGERPRINT

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
S3_SET = ["settings", "s3", "set", "--provider", "minio", "--endpoint-url", "http://127.0.0.1:9000",
          "--bucket", "backups", "--access-key", "AKIA1"]


@pytest.fixture
def run(home):
    """Run the CLI with INFRAKT_HOME=home; return the click Result."""

    def invoke(*args, input=None, env=None):
        return CliRunner().invoke(cli, list(args), input=input, env=env or {}, prog_name="infrakt-backup")

    return invoke


@pytest.fixture
def registered(run, home):
    """A store with a server and a postgres database."""
    store = Store(home)
    store.add_server("web1", host="10.0.0.1")
    store.add_database("shop", server="web1", engine="postgres", password="pw")
    return store


def assert_error(result, code, text):
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("infrakt-backup: error: ") and text in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_version_and_help_need_no_configuration(run, home):
    assert run("--version").stdout.strip() == f"infrakt-backup, version {__version__}"
    assert run("--help").exit_code == 0
    assert not home.exists()


def test_home_option_beats_infrakt_home(run, tmp_path):
    assert run("--home", str(tmp_path / "other"), "settings", "s3", "show").exit_code == 0
    assert (tmp_path / "other" / "infrakt.db").exists()


def test_s3_secret_from_env_then_kept_on_update(run):
    result = run(*S3_SET, "--prefix", "prod", env={"INFRAKT_S3_SECRET_KEY": SECRET})
    assert result.exit_code == 0, result.output
    assert "S3 backup storage saved: bucket backups at http://127.0.0.1:9000, region us-east-1, prefix prod/." in (
        result.stdout)
    updated = run(*S3_SET[:-1], "AKIA2")  # no secret given, no terminal: the stored one is kept
    assert updated.exit_code == 0, updated.output
    assert "The stored secret key was kept." in updated.stdout
    shown = json.loads(run("settings", "s3", "show", "--json").stdout)
    assert shown["access_key"] == "AKIA2" and shown["secret_key"] == "****EKEY"


def test_s3_secret_from_stdin_wins_over_env(run, home):
    result = run(*S3_SET, "--secret-key-stdin", input="from-stdin-secret-0000\n", env={"INFRAKT_S3_SECRET_KEY": SECRET})
    assert result.exit_code == 0, result.output
    assert Store(home).s3_config().secret_key == "from-stdin-secret-0000"


def test_s3_secret_missing_without_terminal_is_bad_input(run, home):
    assert_error(run(*S3_SET), 2, "no S3 secret key: set $INFRAKT_S3_SECRET_KEY or pipe it with --secret-key-stdin")
    assert Store(home).s3_config() is None


def test_s3_secret_is_never_a_flag(run):
    result = run(*S3_SET, "--secret-key", SECRET)
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_s3_show_text_and_json(run):
    assert run("settings", "s3", "show").stdout == "S3 backup storage is not configured.\n"
    assert json.loads(run("settings", "s3", "show", "--json").stdout) == {"configured": False}
    run(*S3_SET, env={"INFRAKT_S3_SECRET_KEY": SECRET})
    text = run("settings", "s3", "show").stdout
    assert "Secret key:    ****EKEY" in text and "Prefix:        (none)" in text and SECRET not in text


def test_s3_delete_is_idempotent(run):
    run(*S3_SET, env={"INFRAKT_S3_SECRET_KEY": SECRET})
    assert run("settings", "s3", "delete").stdout == "S3 backup storage settings deleted.\n"
    second = run("settings", "s3", "delete")
    assert second.exit_code == 0 and "was not configured" in second.stdout


@pytest.mark.parametrize(("args", "text"), [
    (["--endpoint-url", "http://h/path"], "must not have a path"),
    (["--bucket", "B"], "not a valid S3 bucket name"),
    (["--prefix", "a//b"], "empty segment"),
    (["--region", "Region One"], "region 'Region One' is not valid"),
])
def test_s3_set_bad_input_exits_2(run, args, text):
    assert_error(run(*S3_SET, *args, env={"INFRAKT_S3_SECRET_KEY": SECRET}), 2, text)


def test_server_and_db_commands(run, tmp_path, scanned):
    key = tmp_path / "id_test"
    key.write_text("k")
    added = run("server", "add", "web1", "--host", "127.0.0.1", "--port", "2222", "--ssh-key", str(key))
    assert added.exit_code == 0 and added.stdout.splitlines() == [
        "Server web1 added (root@127.0.0.1, port 2222).",
        f"Host key pinned: ssh-ed25519 {HOST_KEY_FINGERPRINT}",
        "Next: infrakt-backup server provision web1",
    ]
    assert "web1  127.0.0.1  2222" in run("server", "list").stdout
    assert json.loads(run("server", "list", "--json").stdout)[0]["ssh_key_path"] == str(key)

    with_password = run("db", "add", "shop", "--server", "web1", "--engine", "postgres", "--password-stdin",
                        input="pw from stdin\n")
    assert with_password.exit_code == 0, with_password.output
    from_env = run("db", "add", "app", "--server", "web1", "--engine", "mysql", env={"INFRAKT_DB_PASSWORD": "pw2"})
    assert from_env.exit_code == 0
    without = run("db", "add", "cache", "--server", "web1", "--engine", "redis")  # no terminal, nothing given
    assert without.exit_code == 0
    listed = {d["name"]: d for d in json.loads(run("db", "list", "--json").stdout)}
    assert {name: d["password_set"] for name, d in listed.items()} == {"app": True, "cache": False, "shop": True}
    assert "pw" not in run("db", "list").stdout

    assert_error(run("server", "remove", "web1"), 2, "still has databases")
    for name in ("shop", "app", "cache"):
        assert run("db", "remove", name).exit_code == 0
    assert run("server", "remove", "web1").stdout == "Server web1 removed.\n"
    assert (tmp_path / "infrakt-home" / "known_hosts").read_text() == ""  # its pinned key is forgotten
    assert "No server is registered" in run("server", "list").stdout
    assert json.loads(run("db", "list", "--json").stdout) == []


@pytest.mark.parametrize(("args", "text"), [
    (["server", "add", "web 1", "--host", "h"], "server name 'web 1' is not valid"),
    (["server", "add", "web1", "--host", "h", "--port", "0"], "port 0 is not valid"),
    (["server", "remove", "ghost"], "unknown server 'ghost'"),
    (["db", "add", "other", "--server", "ghost", "--engine", "mysql"], "unknown server 'ghost'"),
    (["db", "remove", "ghost"], "unknown database 'ghost'"),
    (["backup", "create", "../etc"], "database name '../etc' is not valid"),
    (["backup", "list", "shop;id"], "database name 'shop;id' is not valid"),
    (["backup", "restore", "shop", "../../etc/passwd", "--yes"], "not a path"),
    (["backup", "restore", "shop", "other_postgres_20261124T210509Z.dump", "--yes"], "is not a backup of database"),
    (["backup", "restore", "ghost", "ghost_postgres_20261124T210509Z.dump", "--yes"], "unknown database 'ghost'"),
    (["backup", "restore", "shop", "shop_postgres_20261124T210509Z.dump"], "pass --yes to confirm"),
    (["settings", "s3", "test", "--server", "a b"], "server name 'a b' is not valid"),
    (["server", "provision", "ghost/x"], "server name 'ghost/x' is not valid"),
])
def test_bad_input_exits_2_before_anything_runs(run, registered, args, text):
    assert_error(run(*args), 2, text)


def test_click_usage_errors_exit_2(run):
    assert run("db", "add", "x", "--server", "s", "--engine", "oracle").exit_code == 2
    assert run("server", "add", "web1").exit_code == 2  # --host missing


def test_key_rotate(run, registered):
    result = run("key", "rotate")
    assert result.exit_code == 0
    assert result.stdout.startswith("Master key rotated: 1 secret(s) re-encrypted.")
    assert registered.database("shop").password == "pw"


# ---------------------------------------------------------------- playbook actions: how their results are printed
# (the actions themselves run playbooks on the real bench in tests/integration)

CREATED = {"database": "shop", "server": "web1", "filename": "shop_postgres_20261124T210509Z.dump",
           "path": "/opt/infrakt/backups/shop/shop_postgres_20261124T210509Z.dump", "size": 1536,
           "sha256": "a" * 64, "location": "local+s3", "s3_key": "prod/shop/shop_postgres_20261124T210509Z.dump"}
LISTED = [
    {"filename": "shop_postgres_20261101T000000Z.dump", "size": 10, "created": "2026-11-01T00:00:00Z",
     "location": "s3", "encrypted": False, "sha256": None, "signature": "unsigned"},
    {"filename": "shop_postgres_20261124T210509Z.dump", "size": 3 * 1024**2, "created": "2026-11-24T21:05:09Z",
     "location": "both", "encrypted": False, "sha256": "b" * 64, "signature": "verified"},
    {"filename": "shop_postgres_20261110T000000Z.dump.zst.age", "size": 20, "created": "2026-11-10T00:00:00Z",
     "location": "local", "encrypted": True, "sha256": "c" * 64, "signature": "bad signature"},
]


@pytest.fixture
def calls(monkeypatch):
    """Replace the playbook-running actions by recorders returning canned results."""
    recorded = []

    def recorder(result):
        def action(*args, progress, verbosity, **kwargs):
            progress("… Dump the database")
            recorded.append((args[1:], kwargs, verbosity))
            return result
        return action

    monkeypatch.setattr(backup_create, "create_backup", recorder(CREATED))
    monkeypatch.setattr(backup_list, "list_backups", recorder({"backups": LISTED, "s3_error": None}))
    monkeypatch.setattr(backup_restore, "restore_backup",
                        recorder({"database": "shop", "server": "web1", "filename": LISTED[1]["filename"],
                                  "sha256": "b" * 64, "signature": "verified", "downloaded": True}))
    return recorded


def test_backup_create_rendering_and_arguments(run, registered, calls):
    result = run("-vv", "backup", "create", "shop", "--no-upload")
    assert result.exit_code == 0, result.output
    assert calls == [(("shop",), {"upload": False, "timeout": None, "lock_timeout": None}, 2)]
    assert result.stderr == "… Dump the database\n"
    assert result.stdout.splitlines() == [
        "Backup created: shop_postgres_20261124T210509Z.dump",
        "  Size:      1.5 KiB",
        "  SHA-256:   " + "a" * 64,
        "  Location:  local+s3",
    ]
    as_json = run("backup", "create", "shop", "--json")
    assert json.loads(as_json.stdout) == CREATED and as_json.stderr == ""
    assert calls[-1] == (("shop",), {"upload": True, "timeout": None, "lock_timeout": None}, 0)
    run("backup", "create", "shop", "--timeout", "600", "--lock-timeout", "5")
    assert calls[-1] == (("shop",), {"upload": True, "timeout": 600, "lock_timeout": 5}, 0)


def test_backup_list_is_a_table_newest_first(run, registered, calls):
    result = run("backup", "list", "shop")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "FILENAME                                     SIZE     CREATED (UTC)        LOCATION      ENCRYPTED  SIGNATURE",
        "shop_postgres_20261124T210509Z.dump          3.0 MiB  2026-11-24 21:05:09  local + ☁ S3  -          verified",
        "shop_postgres_20261110T000000Z.dump.zst.age  20 B     2026-11-10 00:00:00  local         🔒 age      "
        "bad signature",
        "shop_postgres_20261101T000000Z.dump          10 B     2026-11-01 00:00:00  ☁ S3 only     -          unsigned",
    ]
    listed = json.loads(run("backup", "list", "shop", "--json").stdout)
    assert [item["filename"] for item in listed] == [LISTED[1]["filename"], LISTED[2]["filename"],
                                                     LISTED[0]["filename"]]


def test_backup_list_without_s3_shows_the_local_backups_a_warning_and_fails(run, registered, monkeypatch):
    local = [item for item in LISTED if item["location"] == "local"]
    monkeypatch.setattr(backup_list, "list_backups",
                        lambda *args, **kwargs: {"backups": local, "s3_error": "cannot reach the S3 endpoint x"})
    result = run("backup", "list", "shop")
    assert result.exit_code == 1
    assert "shop_postgres_20261110T000000Z.dump.zst.age" in result.stdout
    assert result.stderr == ("infrakt-backup: warning: S3 could not be listed, only the server's local backups are "
                             "shown: cannot reach the S3 endpoint x\n")
    as_json = run("backup", "list", "shop", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout) == local
    assert len(as_json.stderr.splitlines()) == 1


def test_backup_restore_with_yes(run, registered, calls):
    result = run("backup", "restore", "shop", LISTED[1]["filename"], "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"Restored shop on server web1 from {LISTED[1]['filename']} "
                             "(downloaded from S3, sha256 verified, signature verified).\n")
    # --yes: nothing asks
    assert calls == [(("shop", LISTED[1]["filename"]),
                      {"confirm": None, "timeout": None, "lock_timeout": None, "identity_file": None,
                       "allow_unsigned": False}, 0)]
    run("backup", "restore", "shop", LISTED[2]["filename"], "--yes", "--identity-file", "/x/identity.txt")
    assert calls[-1][1]["identity_file"] == Path("/x/identity.txt")


# ---------------------------------------------------------------- errors


def test_operation_failures_exit_1_with_one_line(run, home):
    Store(home).save_s3_config(provider="custom", endpoint_url="http://h", bucket="bkt", region="us-east-1",
                               access_key="AK", secret_key=SECRET)
    (home / "master.key").unlink()
    assert_error(run("settings", "s3", "show"), 1, f"the master key file {home / 'master.key'} is missing")


def test_a_value_error_is_a_bug_not_bad_input(run, monkeypatch):
    def broken(store):
        raise ValueError("a check nobody wrapped")

    monkeypatch.setattr(settings_s3, "show", broken)
    assert_error(run("settings", "s3", "show"), 1, "unexpected ValueError: a check nobody wrapped")


def test_unexpected_errors_are_one_line_and_a_traceback_only_at_vvv(run, monkeypatch):
    def broken(store):
        raise RuntimeError("something odd\nsecond line")

    monkeypatch.setattr(settings_s3, "show", broken)
    assert_error(run("settings", "s3", "show"), 1, "unexpected RuntimeError: something odd (-vvv shows the traceback)")
    verbose = run("-vvv", "settings", "s3", "show")
    assert verbose.exit_code == 1 and "Traceback" in verbose.stderr


FLEET = {"ok": False, "backups": [
    {**CREATED, "duration_s": 2.5, "error": None},
    {**dict.fromkeys(CREATED), "duration_s": None, "database": "crm", "server": "web2",
     "error": "Backup of crm failed: cannot reach server web2: the SSH connection failed"},
]}


def test_backup_create_of_several_databases_is_a_table_and_fails_when_one_failed(run, registered, monkeypatch):
    recorded = []

    def create_backups(store, db_names, *, progress, verbosity, **kwargs):
        progress("… Dump the databases")
        progress("1/2 done, 1 failed, 0 running")
        recorded.append((db_names, kwargs))
        return FLEET

    monkeypatch.setattr(backup_create, "create_backups", create_backups)
    result = run("backup", "create", "--all", "--forks", "3")
    assert result.exit_code == 1
    assert recorded == [([], {"all_databases": True, "server_name": None, "upload": True, "timeout": None,
                              "lock_timeout": None, "forks": 3})]
    assert result.stderr == "… Dump the databases\n1/2 done, 1 failed, 0 running\n"  # no terminal: plain lines
    assert result.stdout.splitlines() == [
        "DATABASE  SERVER  FILE                                 SIZE     LOCATION  DURATION  ERROR",
        "shop      web1    shop_postgres_20261124T210509Z.dump  1.5 KiB  local+s3  2.5 s     -",
        "crm       web2    -                                    -        -         -         Backup of crm failed: "
        "cannot reach server web2: the SSH connection failed",
    ]
    as_json = run("backup", "create", "shop", "crm", "--server", "web1", "--json", "--no-upload")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout) == FLEET["backups"] and as_json.stderr == ""
    assert recorded[-1] == (["shop", "crm"], {"all_databases": False, "server_name": "web1", "upload": False,
                                              "timeout": None, "lock_timeout": None, "forks": 10})


def test_status_passes_forks_and_refuses_zero(run, registered, monkeypatch):
    from infrakt_backup.actions import status

    assert_error(run("status", "--forks", "0"), 2, "forks")  # refused before any server is asked
    recorded = []
    monkeypatch.setattr(status, "status", lambda store, max_age, **kwargs: recorded.append(kwargs["forks"])
                        or {"ok": True, "databases": []})
    assert run("status", "--forks", "3").exit_code == 0 and recorded == [3]


# ---------------------------------------------------------------- settings encryption


def test_settings_encryption_commands_print_one_line_each_and_never_the_identity(run, home, tmp_path):
    assert run("settings", "encryption", "show").stdout == "Backups are not encrypted.\n"
    made = run("settings", "encryption", "init")
    assert made.exit_code == 0, made.output
    recipient = json.loads(run("settings", "encryption", "show", "--json").stdout)["recipients"][0]
    assert made.stdout.splitlines() == [
        f"New age identity stored. Backups are now encrypted to {recipient}.",
        "Keep a copy of the identity away from this machine: without it no encrypted backup can be restored. "
        "Write it with: infrakt-backup settings encryption export-identity --output FILE",
    ]
    output = tmp_path / "identity.txt"
    exported = run("settings", "encryption", "export-identity", "--output", str(output))
    assert exported.stdout == f"Identity of {recipient} written to {output} (mode 0600).\n"
    identity = Store(home).encryption().identity
    assert identity in output.read_text()
    assert_error(run("settings", "encryption", "export-identity", "--output", str(output)), 2,
                 f"{output} exists: choose a new file (an identity file is never overwritten)")
    assert "Stored identity:  yes, recipient " + recipient in run("settings", "encryption", "show").stdout
    assert_error(run("settings", "encryption", "set", "--recipient", "age1typo"), 2, "age recipient 'age1typo'")
    assert run("settings", "encryption", "disable").stdout == (
        "New backups are no longer encrypted. The stored age identity is kept: encrypted backups still restore.\n")
    everything = "".join(run(*command).output for command in (
        ("settings", "encryption", "show"), ("settings", "encryption", "show", "--json"),
        ("settings", "encryption", "init")))
    assert identity not in everything and "AGE-SECRET-KEY" not in everything
