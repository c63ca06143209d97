"""Names that reach shells, paths and S3 keys (plugins/module_utils/names.py)."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.infrakt.backup.plugins.module_utils import names

WHEN = datetime(2026, 11, 24, 21, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("prefix", "normalized"),
    [(None, ""), ("", ""), ("/", ""), ("backups", "backups"), ("/a/b/", "a/b"), ("prod.eu-1/db_x", "prod.eu-1/db_x")],
)
def test_prefix_is_normalized(prefix, normalized):
    assert names.normalize_prefix(prefix) == normalized


@pytest.mark.parametrize("prefix", ["a//b", "a/../b", "..", "a/./b", "a b", "a/$(id)", "ä"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        names.normalize_prefix(prefix)


def test_object_key_layout_has_no_double_slashes():
    assert names.object_key("/backups/", "shop", "shop_postgres_20261124T210509Z.dump") == (
        "backups/shop/shop_postgres_20261124T210509Z.dump"
    )
    assert names.object_key("", "shop", "f") == "shop/f"
    assert names.object_prefix(None, "shop") == "shop/"


@pytest.mark.parametrize("bucket", ["abc", "my-bucket.backups", "a1-b2"])
def test_valid_buckets(bucket):
    assert names.validate_bucket(bucket) == bucket


@pytest.mark.parametrize("bucket", ["ab", "Abc", "my_bucket", "-abc", "abc-", "a..b", "a.-b", "192.168.1.1", "x" * 64])
def test_invalid_buckets(bucket):
    with pytest.raises(ValueError, match="bucket"):
        names.validate_bucket(bucket)


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "..", "x;rm", "$(id)", "a" * 64])
def test_unsafe_names_are_refused(name):
    with pytest.raises(ValueError):
        names.validate_name(name)


def test_backup_filename_round_trip():
    filename = names.backup_filename("shop", "postgres", WHEN)
    assert filename == "shop_postgres_20261124T210509Z.dump"
    assert names.validate_backup_filename("shop", filename) == filename
    assert names.backup_created_at("shop", filename) == WHEN
    assert names.backup_filename("shop", "mariadb", WHEN).endswith(".sql.gz")


@pytest.mark.parametrize(
    ("filename", "parts"),
    [
        ("shop_postgres_20261124T210509Z.dump", ("shop", "postgres", "dump", None, False)),
        ("shop_mysql_20261124T210509Z.sql.gz", ("shop", "mysql", "sql", "gz", False)),
        ("shop_redis_20261124T210509Z.rdb", ("shop", "redis", "rdb", None, False)),
        ("shop_mongo_20261124T210509Z.archive.gz", ("shop", "mongo", "archive", "gz", False)),
        ("shop_postgres_20261124T210509Z.dump.zst", ("shop", "postgres", "dump", "zst", False)),
        ("shop_mariadb_20261124T210509Z.sql.gz.age", ("shop", "mariadb", "sql", "gz", True)),
        ("shop_postgres_20261124T210509Z.dump.age", ("shop", "postgres", "dump", None, True)),
        ("shop_v2_postgres_20261124T210509Z.dump", ("shop_v2", "postgres", "dump", None, False)),
        ("a.b-c_redis_mysql_20261124T210509Z.sql", ("a.b-c_redis", "mysql", "sql", None, False)),
    ],
)
def test_the_grammar_parses_into_its_parts(filename, parts):
    parsed = names.parse_backup_filename(filename)
    assert (parsed.db_name, parsed.engine, parsed.format, parsed.compression, parsed.encrypted) == parts
    assert parsed.created == WHEN
    assert names.parse_backup_filename(filename, parsed.db_name) == parsed


@pytest.mark.parametrize("engine", sorted(names.ENGINE_EXTENSIONS))
def test_what_each_engine_writes_is_a_name_of_the_grammar(engine):
    parsed = names.parse_backup_filename(names.backup_filename("shop", engine, WHEN))
    assert (parsed.engine, parsed.created, parsed.encrypted) == (engine, WHEN, False)
    extension = "." + parsed.format + ("." + parsed.compression if parsed.compression else "")
    assert extension == names.ENGINE_EXTENSIONS[engine]


@pytest.mark.parametrize(
    ("engine", "extensions"),
    [
        ("postgres", (".dump.zst", ".dump", ".dump")),  # gzip is inside pg_dump's custom format
        ("mysql", (".sql.zst", ".sql.gz", ".sql")),
        ("mariadb", (".sql.zst", ".sql.gz", ".sql")),
        ("redis", (".rdb.zst", ".rdb.gz", ".rdb")),
        ("mongo", (".archive.zst", ".archive.gz", ".archive")),
    ],
)
def test_the_compression_is_in_the_filename(engine, extensions):
    for compression, extension in zip(("zstd", "gzip", "none"), extensions, strict=True):
        filename = names.backup_filename("shop", engine, WHEN, compression)
        assert filename == f"shop_{engine}_20261124T210509Z{extension}"
        parsed = names.parse_backup_filename(filename)
        expected = "gzip" if engine == "postgres" and compression == "none" else compression  # pg_restore reads both
        assert names.written_compression(parsed) == expected


def test_no_compression_chosen_is_the_engines_default_as_before():
    assert names.ENGINE_EXTENSIONS == {
        "postgres": ".dump", "mysql": ".sql.gz", "mariadb": ".sql.gz", "redis": ".rdb", "mongo": ".archive.gz",
    }
    assert names.backup_filename("shop", "redis", WHEN) == "shop_redis_20261124T210509Z.rdb"


def test_an_unknown_compression_is_refused():
    with pytest.raises(ValueError, match="^compression 'xz' is not one of gzip, none, zstd$"):
        names.backup_filename("shop", "postgres", WHEN, "xz")


@pytest.mark.parametrize(
    "filename",
    [
        "shop_postgres_20261124T210509Z",
        "shop_postgres_20261124T210509Z.tar",
        "shop_postgres_20261124T210509Z.dump.bz2",
        "shop_postgres_20261124T210509Z.dump.gz.zst",
        "shop_postgres_20261124T210509Z.dump.age.gz",
        "shop_postgres_20261124T210509Z.dump.age.age",
        "shop_postgres_20261124T210509Z.dump.sha256",
        "shop_postgres_20261124T210509Z.dump.zst.partial",
        "shop_postgres_20261324T210509Z.dump",
        "shop_postgres_20261124T250509Z.dump",
        "shop_postgres_20261124210509Z.dump",
        "shop_postgres_20261124T210509.dump",
        "shop_oracle_20261124T210509Z.dump",
        "_postgres_20261124T210509Z.dump",
        "-x_postgres_20261124T210509Z.dump",
        "a b_postgres_20261124T210509Z.dump",
        "shop_postgres_20261124T210509Z.DUMP",
        "shop_postgres_20261124T210509Z.dump\n",
        "",
    ],
)
def test_names_outside_the_grammar_are_refused(filename):
    with pytest.raises(ValueError, match="is not a backup filename"):
        names.parse_backup_filename(filename)


def test_another_databases_backup_is_refused_by_name():
    filename = "shop_v2_postgres_20261124T210509Z.dump"
    with pytest.raises(ValueError, match=f"^'{filename}' is not a backup of database 'shop'$"):
        names.parse_backup_filename(filename, "shop")


def grammar_name(db_name, engine, created, backup_format, compression, encrypted):
    """Return the filename the grammar spells for these parts (written out here, not by names)."""
    return (f"{db_name}_{engine}_{created:%Y%m%dT%H%M%SZ}.{backup_format}"
            f"{'.' + compression if compression else ''}{'.age' if encrypted else ''}")


GRAMMAR_PARTS = st.tuples(
    st.from_regex(names.NAME_RE, fullmatch=True),
    st.sampled_from(sorted(names.ENGINE_EXTENSIONS)),
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda when: when.replace(microsecond=0, tzinfo=UTC)
    ),
    st.sampled_from(names.BACKUP_FORMATS),
    st.sampled_from((None,) + names.COMPRESSIONS),
    st.booleans(),
)


@given(GRAMMAR_PARTS)
def test_every_name_of_the_grammar_parses_back_into_its_parts(parts):
    filename = grammar_name(*parts)
    parsed = names.parse_backup_filename(filename, parts[0])
    assert tuple(parsed) == parts
    assert names.validate_backup_filename(parts[0], filename) == filename
    assert names.backup_created_at(parts[0], filename) == parts[2]


@given(st.text(min_size=1, max_size=80))
def test_any_parsed_name_is_rebuilt_from_its_parts(text):
    try:
        parsed = names.parse_backup_filename(text)
    except ValueError:
        return
    rebuilt = grammar_name(*parsed)
    assert rebuilt == text


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "shop/shop_postgres_20261124T210509Z.dump",
        "other_postgres_20261124T210509Z.dump",
        "shop_postgres_20261124T210509Z.dump.sha256",
        "shop_postgres_20261124T210509Z.dump.partial",
        "shop_v2_postgres_20261124T210509Z.dump",
        "",
    ],
)
def test_restore_filenames_cannot_escape_or_cross_databases(filename):
    with pytest.raises(ValueError):
        names.validate_backup_filename("shop", filename)


@given(st.text(min_size=1, max_size=80))
def test_any_accepted_backup_filename_is_a_plain_name(text):
    try:
        accepted = names.validate_backup_filename("shop", text)
    except ValueError:
        return
    assert "/" not in accepted and ".." not in accepted and accepted.startswith("shop_")


@given(st.text(max_size=60))
def test_any_accepted_prefix_is_clean(text):
    try:
        normalized = names.normalize_prefix(text)
    except ValueError:
        return
    assert "//" not in normalized and not normalized.startswith("/") and not normalized.endswith("/")
    assert ".." not in normalized.split("/")


@pytest.mark.parametrize(
    ("validator", "value"),
    [
        (names.validate_name, "shop\n"),
        (names.normalize_prefix, "prod\n"),
        (names.validate_bucket, "bucket\n"),
        (names.validate_region, "eu-west-1\n"),
        (names.validate_host, "1.2.3.4\n"),
        (names.validate_host, "db.example.com\n"),
        (names.validate_absolute_path, "/usr/bin/python3\n"),
        (lambda value: names.validate_backup_filename("shop", value), "shop_postgres_20261124T210509Z.dump\n"),
    ],
)
def test_a_trailing_newline_is_refused(validator, value):
    # `$` matches before a final newline; the patterns end in \Z so that it cannot slip through
    with pytest.raises(ValueError):
        validator(value)
