"""Big PostgreSQL databases for rows P3 and P6, made fast and kept for the rounds of a run.

Rows come from `generate_series` in one INSERT … SELECT per table, two tables filled by two
sessions side by side (the bench has 2 cores), into UNLOGGED tables (no WAL; pg_dump still
dumps their rows). A row is ~260 bytes on disk: an id, a time and 224 characters of md5 hex
(one distinct md5 and one repeated six times), which compresses about as well as the
bench's earlier 1.1 GiB database did (192 MiB with pg_dump's gzip-6). A database is made
under a temporary name and renamed when complete, so an interrupted run never leaves a
half-filled one that a later run would take for done."""

from concurrent.futures import ThreadPoolExecutor

ROW_BYTES = 260
SESSIONS = 2


def database_name(gib: float) -> str:
    """Return the name of the bench database of about `gib` GiB."""
    return f"bench_big_{gib:g}".replace(".", "_")


def ensure_database(bench, gib: float) -> str:
    """Create the database of about `gib` GiB unless it exists; return its name."""
    name = database_name(gib)
    if bench.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        return name
    building = f"{name}_building"
    bench.psql(f'DROP DATABASE IF EXISTS "{building}"')
    bench.psql(f'CREATE DATABASE "{building}"')
    rows = int(gib * (1 << 30) / ROW_BYTES / SESSIONS)

    def fill(table: int) -> None:
        first = table * rows
        bench.psql(
            f"CREATE UNLOGGED TABLE events_{table} (id bigint, at timestamptz, payload text);"
            f"INSERT INTO events_{table} SELECT g, now() - g * interval '1 second', "
            f"md5(g::text) || repeat(md5((g * 7)::text), 6) FROM generate_series({first + 1}, {first + rows}) AS g",
            building)

    with ThreadPoolExecutor(SESSIONS) as pool:
        list(pool.map(fill, range(SESSIONS)))
    bench.psql(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name


def size_text(bench, name: str) -> str:
    """Return the database's size on disk, as PostgreSQL words it (`1090 MB`)."""
    return bench.psql(f"SELECT pg_size_pretty(pg_database_size('{name}'))")


def drop_database(bench, gib: float) -> None:
    """Drop the database of about `gib` GiB (nothing when there is none)."""
    bench.psql(f'DROP DATABASE IF EXISTS "{database_name(gib)}"')
