"""Many backups of one database at once, for the listing at scale (a test and bench row P4):
backups put straight into the bench S3 with boto3, as earlier runs would have left them
(object with its `sha256` metadata, then its `.sha256` sidecar), and local ones written into
the server's backup directory with their sidecars."""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ansible_collections.infrakt.backup.plugins.module_utils import names
from tests.integration.plays import plant_backup

# The first backup's time; backup number i was taken i minutes later.
FIRST_BACKUP = datetime(2025, 1, 1, tzinfo=UTC)
UPLOAD_THREADS = 16


def backup_names(db_name: str, count: int, first: int = 0) -> list[str]:
    """Return `count` PostgreSQL backup filenames of db_name, one a minute from FIRST_BACKUP
    plus `first` minutes."""
    return [names.backup_filename(db_name, "postgres", FIRST_BACKUP + timedelta(minutes=first + number))
            for number in range(count)]


def backup_bytes(filename: str) -> bytes:
    """Return the (small) content of backup filename: it names itself, so each differs."""
    return f"backup {filename}\n".encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_s3_backups(env: dict, prefix: str, db_name: str, filenames: list[str],
                   sidecars: set[str] | None = None) -> None:
    """Put each backup of filenames under `<prefix>/<db_name>/` in the bench S3 of env, with
    its metadata, and the sidecar of those in sidecars (default: all), from UPLOAD_THREADS
    threads (one boto3 client is thread-safe)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name=env["S3_REGION"],
                          aws_access_key_id=env["S3_ACCESS_KEY"], aws_secret_access_key=env["S3_SECRET_KEY"],
                          config=Config(max_pool_connections=UPLOAD_THREADS, retries={"max_attempts": 5}))

    def put(filename: str) -> None:
        data = backup_bytes(filename)
        digest = sha256_hex(data)
        key = names.object_key(prefix, db_name, filename)
        client.put_object(Bucket=env["S3_BUCKET"], Key=key, Body=data, Metadata={"sha256": digest})
        if sidecars is None or filename in sidecars:
            client.put_object(Bucket=env["S3_BUCKET"], Key=key + names.SIDECAR_SUFFIX,
                              Body=f"{digest}  {filename}\n".encode())

    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(put, filenames))


def delete_s3_prefix(env: dict, prefix: str) -> None:
    """Delete every object under prefix in the bench S3 of env, a thousand per request."""
    from tests.integration.plays import bench_s3_client

    client = bench_s3_client(env)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=env["S3_BUCKET"], Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=env["S3_BUCKET"], Delete={"Objects": keys, "Quiet": True})


def write_local_backups(backup_dir: Path, db_name: str, filenames: list[str]) -> None:
    """Write each backup of filenames and its sidecar into `<backup_dir>/<db_name>/`."""
    for filename in filenames:
        plant_backup(backup_dir / db_name, filename, backup_bytes(filename))
