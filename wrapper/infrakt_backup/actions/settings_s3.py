"""`infrakt-backup settings s3 show|set|delete`: the one global S3 configuration, with
provider presets for the region (and, for AWS, the endpoint)."""

from collections.abc import Callable

from ansible_collections.infrakt.backup.plugins.module_utils import names
from ansible_collections.infrakt.backup.plugins.module_utils.s3 import presets
from infrakt_backup.actions import validated
from infrakt_backup.json_ready import entry_dict
from infrakt_backup.store import Store

DEFAULT_PROVIDER = "custom"


def endpoint_and_region(provider: str, endpoint_url: str | None, region: str | None) -> tuple[str, str]:
    """Return the validated (endpoint URL, region) for provider (presets.endpoint_and_region:
    the preset's region when region is None and, for aws only, its regional endpoint when
    endpoint_url is None). Raise BadInput for an unknown provider, a missing endpoint, or an
    invalid value."""
    return validated(presets.endpoint_and_region, provider, endpoint_url, region)


def show(store: Store) -> dict:
    """Return {"configured": False}, or {"configured": True, provider, endpoint_url, bucket,
    region, prefix, access_key, secret_key (masked), created_at, updated_at (ISO-8601 UTC)}."""
    settings = store.s3_config()
    if settings is None:
        return {"configured": False}
    return {"configured": True, **entry_dict(settings)}


def save(
    store: Store, *, endpoint_url: str | None, bucket: str, access_key: str, region: str | None = None,
    prefix: str | None = None, provider: str | None = None, secret_key: str | None = None,
    ask_secret: Callable[[], str], progress: Callable[[str], None] | None = None,
) -> dict:
    """Validate and save the S3 settings, then rewrite the S3 files of every server with
    scheduled backups; return show() of the result plus "secret_key_kept" and "schedules"
    (reapply_schedules()).

    On an update, what is left out (None) stays as stored: the provider, the prefix (where the
    existing backups are), the region when provider and endpoint stay the same, and the
    secret. `ask_secret()` is called when no secret is given and none is stored (after every
    other value was validated) and must return it or raise BadInput.
    """
    current = store.s3_config()
    provider = provider or (current.provider if current else DEFAULT_PROVIDER)
    if current is not None and prefix is None:
        prefix = current.prefix
    endpoint_url, computed_region = endpoint_and_region(provider, endpoint_url, region)
    same_place = current is not None and (current.provider, current.endpoint_url) == (provider, endpoint_url)
    region = current.region if region is None and same_place else computed_region
    bucket = validated(names.validate_bucket, bucket)
    prefix = validated(names.normalize_prefix, prefix)
    access_key = validated(names.validate_credential, access_key, "access key")
    if secret_key is None and current is None:
        secret_key = ask_secret()
    if secret_key is not None:
        validated(names.validate_credential, secret_key, "secret key")
    store.save_s3_config(
        provider=provider, endpoint_url=endpoint_url, bucket=bucket, region=region, access_key=access_key,
        prefix=prefix, secret_key=secret_key,
    )
    return {**show(store), "secret_key_kept": secret_key is None, "schedules": reapply_schedules(store, progress)}


def delete(store: Store, progress: Callable[[str], None] | None = None) -> dict:
    """Delete the S3 settings and take the upload step and S3 files off every server with
    scheduled backups; return {"deleted": whether there were any, "schedules":
    reapply_schedules()} (deleting nothing is fine)."""
    deleted = store.delete_s3_config()
    return {"deleted": deleted, "schedules": reapply_schedules(store, progress)}


def reapply_schedules(store: Store, progress: Callable[[str], None] | None) -> dict:
    """Re-install the scheduled backups of every server that has some with the S3 settings as
    stored now; return schedule.reapply_all()'s {"servers_updated", "servers_failed"} (both
    empty when nothing is scheduled)."""
    if not store.schedules():
        return {"servers_updated": [], "servers_failed": []}
    from infrakt_backup.actions import schedule  # runs plays: ansible-runner only when needed

    return schedule.reapply_all(store, progress=progress)
