"""MongoDB command building (engines/mongo.py). There is no MongoDB server on the test bench:
the commands are checked here, and the container password transport (a here-document on
descriptor 3 built by the container's sh) is run for real through tests/shims/docker with a
stand-in program that prints the config file it was given."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.infrakt.backup.plugins.module_utils.engines import mongo

from ..conftest import PASSWORD

DOCKER_SHIM = Path(__file__).resolve().parents[4] / "shims" / "docker"


def test_native_dump_reads_the_password_from_a_config_file(make_connection):
    connection = make_connection(engine="mongo", host="127.0.0.1", port=27018, user="backup", password=PASSWORD)
    command = mongo.dump_command(connection, "mongodump", {"mongo.yaml": "/run/infrakt/run-x/mongo.yaml"})
    assert command.argv == [
        "mongodump", "--config=/run/infrakt/run-x/mongo.yaml", "--archive", "--gzip", "--db=shop",
        "--host=127.0.0.1", "--port=27018", "--username=backup", "--authenticationDatabase=admin",
    ]
    assert command.env == {}
    assert mongo.password_files(connection) == {"mongo.yaml": mongo.config_text(PASSWORD)}


def test_native_restore_drops_and_keeps_to_the_database(make_connection):
    connection = make_connection(engine="mongo", socket="/tmp/mongodb-27017.sock")
    command = mongo.restore_command(connection, "mongorestore", {})
    assert command.argv == [
        "mongorestore", "--archive", "--gzip", "--drop", "--nsInclude=shop.*", "--host=/tmp/mongodb-27017.sock",
    ]


def test_container_command_builds_the_config_inside_from_an_env_variable(make_connection):
    connection = make_connection(engine="mongo", container="shop-mongo", user="root", password=PASSWORD)
    command = mongo.restore_command(connection, "mongorestore", {})
    assert command.argv == [
        "docker", "exec", "-i", "-e", "MONGO_CONFIG", "shop-mongo", "sh", "-c", mongo.CONTAINER_SCRIPT,
        "mongorestore", "--archive", "--gzip", "--drop", "--nsInclude=shop.*",
        "--username=root", "--authenticationDatabase=admin",
    ]
    assert command.env == {"MONGO_CONFIG": mongo.config_text(PASSWORD)}
    assert not any(PASSWORD in part for part in command.argv)
    assert mongo.password_files(connection) == {}


@pytest.mark.parametrize("password", [PASSWORD, "ünïcödé", "line\nbreak", "$HOME `id` $(id)", "a: b # c"])
def test_config_text_is_yaml_giving_back_the_password(password):
    assert yaml.safe_load(mongo.config_text(password)) == {"password": password}


@pytest.mark.parametrize("password", [PASSWORD, "$HOME `id` $(id)\\n", "INFRAKT_END\nINFRAKT_END"])
def test_container_transport_hands_the_config_over_unchanged(make_connection, tmp_path, password):
    # stand-in for mongodump inside the "container": prints its --config file and its options
    tool = tmp_path / "mongodump"
    tool.write_text(
        "#!/usr/bin/env python3\nimport json, sys\n"
        "config = [a for a in sys.argv[1:] if a.startswith('--config=')][0].split('=', 1)[1]\n"
        "print(json.dumps({'config': open(config).read(), 'argv': sys.argv[1:]}))\n"
    )
    tool.chmod(0o755)
    connection = make_connection(engine="mongo", container="c", docker_bin=str(DOCKER_SHIM), password=password)
    command = mongo.dump_command(connection, "mongodump", {})
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", **command.env}
    result = subprocess.run(command.argv, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout)
    assert yaml.safe_load(seen["config"]) == {"password": password}
    assert seen["argv"] == ["--config=/dev/fd/3", "--archive", "--gzip", "--db=shop"]


@pytest.mark.parametrize(("compression", "gzip"), [(None, True), ("gzip", True), ("zstd", False), ("none", False)])
def test_the_tools_gzip_only_for_gzip(make_connection, compression, gzip):
    connection = make_connection(engine="mongo", compression=compression)
    commands = (mongo.dump_command(connection, "mongodump", {}), mongo.restore_command(connection, "mongorestore", {}))
    for command in commands:
        assert command.argv[1] == "--archive" and ("--gzip" in command.argv) is gzip


@pytest.mark.parametrize(
    ("filename", "first_bytes"),
    [
        ("shop_mongo_20261124T210509Z.archive.gz", b"\x1f\x8b\x08\x00"),  # the tools decode it themselves
        ("shop_mongo_20261124T210509Z.archive.zst", mongo.ARCHIVE_MAGIC + b"\x00"),  # decoded by the pipeline
        ("shop_mongo_20261124T210509Z.archive", mongo.ARCHIVE_MAGIC + b"\x00"),
    ],
)
def test_the_check_expects_what_the_tools_get(filename, first_bytes):
    mongo.check_backup(first_bytes, filename)
    other = b"\x1f\x8b\x08\x00" if first_bytes.startswith(mongo.ARCHIVE_MAGIC) else mongo.ARCHIVE_MAGIC
    with pytest.raises(ValueError, match="the database was not touched"):
        mongo.check_backup(other, filename)
