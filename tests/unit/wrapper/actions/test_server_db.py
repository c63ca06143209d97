"""actions/server.py and actions/db.py: validation before anything is stored."""

import pytest

from infrakt_backup.actions import db, server
from infrakt_backup.errors import BadInput, InfraktError
from infrakt_backup.remote import known_hosts_path, pick_server
from tests.unit.wrapper.conftest import HOST_KEY, HOST_KEY_FINGERPRINT


@pytest.fixture
def ssh_key(tmp_path):
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key, only a file\n")
    return key


def test_server_add_list_remove(store, ssh_key, monkeypatch, scanned):
    monkeypatch.chdir(ssh_key.parent)
    added = server.add(store, "web1", host="127.0.0.1", port=2222, user="backup", ssh_key="id_ed25519",
                       python="/usr/bin/python3.11", backup_dir="/srv/backups/")
    assert added["ssh_key_path"] == str(ssh_key)  # made absolute
    assert added["backup_dir"] == "/srv/backups"
    assert added.pop("host_keys") == [{"type": "ssh-ed25519", "fingerprint": HOST_KEY_FINGERPRINT}]
    assert added.pop("host_key_error") is None
    assert server.list_servers(store) == [added]
    server.remove(store, "web1")
    assert server.list_servers(store) == []


@pytest.mark.parametrize(("values", "complaint"), [
    ({"name": "../web"}, "server name"),
    ({"host": "web 1"}, "host"),
    ({"port": 0}, "port"),
    ({"user": "root;id"}, "SSH user"),
    ({"ssh_key": "/does/not/exist"}, "does not exist"),
    ({"python": "python3"}, "python interpreter"),
    ({"backup_dir": "/opt/../tmp"}, "backup directory"),
    ({"host_key_fingerprint": "UNjNv0KdJ3LT3MFyhxTUIDbesazKHvUq4zWzbzQz7Hs"}, "fingerprint"),
    ({"host_key_fingerprint": "SHA256:short"}, "fingerprint"),
])
def test_server_add_refuses_bad_values(store, values, complaint, scanned):
    arguments = {"name": "web1", "host": "10.0.0.1"} | values
    with pytest.raises(BadInput, match=complaint):
        server.add(store, arguments.pop("name"), **arguments)
    assert scanned == []  # refused before any network wait
    assert store.servers() == []


def test_db_add_list_remove(store):
    store.add_server("web1", host="10.0.0.1")
    added = db.add(store, "shop", server="web1", engine="postgres", database="shop_prod", user="backup",
                   host="/var/run/postgresql", port=5432, password="s3cret pw")
    assert added["password_set"] and "s3cret" not in str(added)
    assert store.database("shop").password == "s3cret pw"
    cache = db.add(store, "cache", server="web1", engine="redis", password="",
                   restart_command="redis-server /etc/redis/redis.conf --daemonize yes", data_dir="/var/lib/redis/")
    assert store.database("cache").data_dir == "/var/lib/redis"
    assert not cache["password_set"] and store.database("cache").password is None
    assert [entry["name"] for entry in db.list_databases(store)] == ["cache", "shop"]
    assert store.database("shop").compression == "zstd"  # the default of db add
    db.add(store, "blog", server="web1", engine="mariadb", compression="gzip")
    assert store.database("blog").compression == "gzip"
    db.remove(store, "cache")
    with pytest.raises(BadInput, match="unknown database 'cache'"):
        db.remove(store, "cache")


@pytest.mark.parametrize(("values", "complaint"), [
    ({"name": "shop/x"}, "database name"),
    ({"server": "nope"}, "unknown server 'nope'"),
    ({"engine": "oracle"}, "engine 'oracle' is not one of"),
    ({"database": "shop; DROP"}, "database"),
    ({"user": "-U"}, "database user"),
    ({"host": "db host"}, "database host"),
    ({"host": "/run/../etc"}, "socket directory"),
    ({"port": 70000}, "port"),
    ({"container": "$(id)"}, "container"),
    ({"restart_command": "redis-server"}, "only used for redis"),
    ({"engine": "redis", "restart_command": "redis-server 'unclosed"}, "cannot be split"),
    ({"engine": "redis", "restart_command": "a\nb"}, "control characters"),
    ({"data_dir": "/var/lib/redis"}, "only used for redis"),
    ({"engine": "redis", "data_dir": "var/lib/redis"}, "data dir 'var/lib/redis' must be an absolute path"),
    ({"password": "line1\nline2"}, "newlines"),
    ({"compression": "xz"}, "compression 'xz' is not one of gzip, none, zstd"),
])
def test_db_add_refuses_bad_values(store, values, complaint):
    store.add_server("web1", host="10.0.0.1")
    arguments = {"name": "shop", "server": "web1", "engine": "postgres"} | values
    with pytest.raises(BadInput, match=complaint) as raised:
        db.add(store, arguments.pop("name"), **arguments)
    assert "line1" not in raised.value.message
    assert store.databases() == []


def test_db_add_asks_for_the_password_only_after_every_other_value_was_checked(store):
    store.add_server("web1", host="10.0.0.1")
    asked = []

    def ask_password():
        asked.append(True)
        return "typed pw"

    with pytest.raises(BadInput, match="database host"):
        db.add(store, "shop", server="web1", engine="postgres", host="db host", ask_password=ask_password)
    assert asked == []
    db.add(store, "given", server="web1", engine="postgres", password="", ask_password=ask_password)
    assert asked == [] and store.database("given").password is None
    db.add(store, "shop", server="web1", engine="postgres", ask_password=ask_password)
    assert asked == [True] and store.database("shop").password == "typed pw"


def test_the_server_to_run_on_is_the_named_or_the_only_one(store, scanned):
    with pytest.raises(BadInput, match="no server is registered"):
        pick_server(store, None)
    server.add(store, "web1", host="10.0.0.1")
    assert pick_server(store, None).name == "web1"
    server.add(store, "web2", host="10.0.0.2")
    with pytest.raises(BadInput, match=r"several servers are registered \(web1, web2\): choose one with --server"):
        pick_server(store, None)
    assert pick_server(store, "web2").name == "web2"
    with pytest.raises(BadInput, match="web3"):
        pick_server(store, "web3")


def test_server_add_pins_the_key_with_the_fingerprint_given_and_refuses_another(store, scanned):
    with pytest.raises(BadInput, match="has fingerprint SHA256:UNjN.*, not SHA256:A{43}: nothing was stored"):
        server.add(store, "web1", host="10.0.0.1", port=2222, host_key_fingerprint="SHA256:" + "A" * 43)
    assert server.list_servers(store) == [] and not known_hosts_path(store).exists()
    server.add(store, "web1", host="10.0.0.1", port=2222, host_key_fingerprint=HOST_KEY_FINGERPRINT)
    assert known_hosts_path(store).read_text() == f"[10.0.0.1]:2222 {' '.join(HOST_KEY)}\n"
    assert known_hosts_path(store).stat().st_mode & 0o777 == 0o600


def test_pin_replaces_the_servers_lines_hashed_or_plain_and_keeps_the_others(store, scanned):
    server.add(store, "web1", host="10.0.0.1")
    # what ssh itself wrote with HashKnownHosts for 10.0.0.1 (ssh-keygen -H), and another host's key
    known_hosts_path(store).write_text("|1|xctaMq7bHB+7aFHSdVZue3HJm+c=|j7gtuqvRDPtOCOdY/Jo5IDWB4lI= ssh-ed25519 OLD\n"
                                       "10.0.0.9 ssh-ed25519 OTHER\n")
    assert server.pin(store, "web1")["host_keys"] == [{"type": "ssh-ed25519", "fingerprint": HOST_KEY_FINGERPRINT}]
    assert known_hosts_path(store).read_text() == f"10.0.0.9 ssh-ed25519 OTHER\n10.0.0.1 {' '.join(HOST_KEY)}\n"


def test_a_server_that_cannot_be_reached_is_added_unpinned(store, monkeypatch):
    def unreachable(host, port):
        raise InfraktError(f"cannot fetch the SSH host key of {host} port {port}: no SSH server answered")

    monkeypatch.setattr(server, "scan_host_keys", unreachable)
    added = server.add(store, "web1", host="10.0.0.1")
    assert added["host_keys"] == [] and "no SSH server answered" in added["host_key_error"]
    assert [entry["name"] for entry in server.list_servers(store)] == ["web1"]
    assert not known_hosts_path(store).exists()
    with pytest.raises(InfraktError, match="no SSH server answered"):
        server.pin(store, "web1")


def test_pins_written_at_the_same_time_are_all_kept(store):
    # two `server add` / `server pin` at once: each replaces its own lines, none loses the other's
    from concurrent.futures import ThreadPoolExecutor

    store.home.mkdir(parents=True, exist_ok=True)
    names = [f"[10.0.0.{number}]:22" for number in range(1, 21)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda name: server._write_known_hosts(store, name, [("ssh-ed25519", HOST_KEY)]), names))
    lines = known_hosts_path(store).read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(names)
    assert known_hosts_path(store).stat().st_mode & 0o777 == 0o600
    assert [path.name for path in store.home.iterdir() if path.name.endswith(".new")] == []
