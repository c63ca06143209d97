"""remote.py: the rows each kind of play loads, the playbook variables they give, the inventory's
strict host-key options and the sentence for a refused host key (the runs themselves are on the
real bench in tests/integration)."""

from types import SimpleNamespace

import pytest

from ansible_collections.infrakt.backup.plugins.module_utils.engines.common import connection_from_params
from infrakt_backup import runner
from infrakt_backup.errors import BadInput
from infrakt_backup.playbook_vars import connection_parameters
from infrakt_backup.remote import database_play, host_failures, known_hosts_path, s3_play, server_play

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def configured(store):
    """A store with S3 settings, a server and a postgres database."""
    store.save_s3_config(provider="minio", endpoint_url="http://h:9000", bucket="bkt", region="us-east-1",
                         access_key="AK", secret_key=SECRET)
    store.add_server("web1", host="10.0.0.1", backup_dir="/srv/backups")
    store.add_database("shop", server="web1", engine="postgres", password="pw")
    return store


def test_a_database_play_has_the_database_its_server_and_s3(configured):
    play = database_play(configured, "shop")
    variables = play.variables()
    assert (play.database.name, play.server.name, play.settings.bucket) == ("shop", "web1", "bkt")
    assert variables["infrakt_db_password"] == "pw" and variables["infrakt_s3_secret_key"] == SECRET
    assert variables["infrakt_backup_dir"] == "/srv/backups"
    assert "infrakt_db_compression" not in variables  # added without one: the engine's default
    without_s3 = play.without_s3().variables()
    assert not any(name.startswith("infrakt_s3_") for name in without_s3)
    assert without_s3["infrakt_backup_dir"] == "/srv/backups" and without_s3["infrakt_db_name"] == "shop"


def test_an_s3_play_has_no_database(configured):
    variables = s3_play(configured, None).variables()
    assert variables["infrakt_s3_bucket"] == "bkt" and variables["infrakt_aws_bin"]
    assert not any(name.startswith("infrakt_db_") for name in variables)


def test_an_s3_play_needs_s3_settings(store):
    store.add_server("web1", host="10.0.0.1")
    with pytest.raises(BadInput, match="S3 backup storage is not configured"):
        s3_play(store, "web1")


def test_a_server_play_gets_no_variables(configured):
    # provision.yml sets the fact infrakt_aws_bin: a stored value passed in would beat it
    assert server_play(configured, "web1").variables() == {}


def test_unknown_rows_are_bad_input(configured):
    with pytest.raises(BadInput, match="unknown database 'ghost'"):
        database_play(configured, "ghost")
    with pytest.raises(BadInput, match="unknown server 'ghost'"):
        server_play(configured, "ghost")


# What ansible's ssh connection reports when ssh refuses the host key (joined into one line).
CHANGED = ("cannot reach server web1: Data could not be sent to remote host \"10.0.0.1\". Make sure this host can be "
           "reached over ssh: @@@@@@@ @ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @ @@@@@@@ IT IS POSSIBLE "
           "THAT SOMEONE IS DOING SOMETHING NASTY! ... Host key for 10.0.0.1 has changed and you have requested "
           "strict checking. Host key verification failed.")
UNKNOWN = ("cannot reach server web1: ... No ED25519 host key is known for 10.0.0.1 and you have requested strict "
           "checking. Host key verification failed.")


@pytest.mark.parametrize(("failure", "said"), [
    (CHANGED, "the SSH host key of server web1 (10.0.0.1 port 22) is not the one pinned for it: if it was "
              "changed on purpose, pin the new one with 'infrakt-backup server pin web1 --host-key-fingerprint "
              "SHA256:…'; otherwise someone may be intercepting the connection"),
    (UNKNOWN, "no SSH host key is pinned for server web1 (10.0.0.1 port 22): pin it with "
              "'infrakt-backup server pin web1'"),
    ("cannot reach server web1: Connection refused", "cannot reach server web1: Connection refused"),
])
def test_a_refused_host_key_is_one_sentence_naming_the_server(configured, monkeypatch, failure, said):
    monkeypatch.setattr(runner, "run_playbook",
                        lambda *args, **kwargs: runner.PlaybookRun(status="failed", rc=4, failure=failure))
    assert server_play(configured, "web1").run("provision.yml").failure == said


def test_plays_check_host_keys_strictly_against_the_pinned_ones(configured):
    inventory = runner.server_inventory([configured.server("web1")], known_hosts_path(configured))
    ssh_args = inventory["all"]["children"]["infrakt_servers"]["hosts"]["web1"]["ansible_ssh_common_args"]
    assert ssh_args == (f"-o UserKnownHostsFile={known_hosts_path(configured)} -o GlobalKnownHostsFile=/dev/null"
                        " -o StrictHostKeyChecking=yes")
    # each host's master socket in the run's own control directory, whatever an ansible.cfg says
    assert inventory["all"]["children"]["infrakt_servers"]["hosts"]["web1"]["ansible_control_path"] == (
        "%(directory)s/0")


def test_the_compression_reaches_the_playbook_and_a_schedules_connection(configured):
    configured.add_database("blog", server="web1", engine="mariadb", compression="zstd")
    assert database_play(configured, "blog").variables()["infrakt_db_compression"] == "zstd"
    parameters = connection_parameters(configured.database("blog"))
    assert connection_from_params(dict(parameters, db_name="blog")).compression == "zstd"  # what the cron run reads
    assert "compression" not in connection_parameters(configured.database("shop"))


def test_a_loop_that_could_not_reach_its_server_says_ssh_s_reason():
    server = SimpleNamespace(name="gone", host="127.0.0.1", port=1)  # what host_failures reads of a ServerEntry
    reason = "Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused"
    run = runner.PlaybookRun(status="failed", rc=4, results=[runner.ModuleResult(
        "gone", "Dump the databases", "infrakt.backup.db_backup",
        {"msg": "All items completed", "results": [{"unreachable": True, "msg": reason}]},
        failed=True, unreachable=True)])
    assert host_failures(run, [server]) == {"gone": reason}
