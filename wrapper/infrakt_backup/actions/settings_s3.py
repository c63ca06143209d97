"""`infrakt-backup settings s3 show|set|delete`: the one global S3 configuration, with
provider presets for the region (and, for AWS, the endpoint)."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from infrakt_backup.actions import validate_host, validated
from infrakt_backup.collection import names
from infrakt_backup.errors import BadInput
from infrakt_backup.output import iso_utc, mask_secret


@dataclass(frozen=True)
class ProviderPreset:
    """What a provider implies when --region is left out: the region named in the endpoint's
    host name (`region_in_host`, group 1), else `default_region`."""

    default_region: str
    region_in_host: re.Pattern | None = None


PROVIDERS = {
    "aws": ProviderPreset("us-east-1", re.compile(r"^s3[.-]([a-z0-9-]+)\.amazonaws\.com$")),
    "digitalocean": ProviderPreset("nyc3", re.compile(r"^([a-z0-9-]+)\.digitaloceanspaces\.com$")),
    "backblaze": ProviderPreset("us-west-004", re.compile(r"^s3\.([a-z0-9-]+)\.backblazeb2\.com$")),
    # R2 signs with the pseudo-region "auto".
    "cloudflare-r2": ProviderPreset("auto"),
    "minio": ProviderPreset("us-east-1"),
    "wasabi": ProviderPreset("us-east-1", re.compile(r"^s3\.([a-z0-9-]+)\.wasabisys\.com$")),
    "custom": ProviderPreset("us-east-1"),
}
DEFAULT_PROVIDER = "custom"
AWS_ENDPOINT = "https://s3.{region}.amazonaws.com"


def validate_endpoint_url(url: str) -> str:
    """Return url without a trailing slash if it is an http(s) URL of a host (and port) only:
    no user info, path, query or fragment; raise ValueError otherwise."""
    if not isinstance(url, str) or not url or any(character.isspace() or not character.isprintable()
                                                  for character in url):
        raise ValueError(f"endpoint URL {url!r} must be an http:// or https:// URL without spaces")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"endpoint URL {url!r} must start with http:// or https://")
    if "@" in parts.netloc:
        raise ValueError(f"endpoint URL {url!r} must not carry a user name or password")
    if parts.path not in ("", "/") or "?" in url or "#" in url:
        raise ValueError(
            f"endpoint URL {url!r} must not have a path, query or fragment (the bucket and prefix are set apart)"
        )
    if not parts.hostname:
        raise ValueError(f"endpoint URL {url!r} has no host")
    validate_host(parts.hostname, "endpoint host")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"endpoint URL {url!r} has an invalid port")
    return f"{parts.scheme.lower()}://{parts.netloc}"


def validate_access_key(access_key: str) -> str:
    """Return access_key if it is not empty and has no whitespace or control characters; raise
    ValueError otherwise."""
    if not access_key or any(character.isspace() or not character.isprintable() for character in access_key):
        raise ValueError("the access key must not be empty nor contain spaces or control characters")
    return access_key


def validate_secret_key(secret_key: str) -> str:
    """Return secret_key if it is not empty and has no whitespace or control characters (it is
    written into the aws CLI's credentials file on the server); raise ValueError otherwise.
    The message never quotes the secret."""
    if not secret_key or any(character.isspace() or not character.isprintable() for character in secret_key):
        raise ValueError("the secret key must not be empty nor contain spaces or control characters")
    return secret_key


def endpoint_and_region(provider: str, endpoint_url: str | None, region: str | None) -> tuple[str, str]:
    """Return the validated (endpoint URL, region) for provider, filling in the preset's region
    when region is None and, for aws only, the regional endpoint when endpoint_url is None.
    Raise BadInput for an unknown provider, a missing endpoint, or an invalid value."""
    if provider not in PROVIDERS:
        raise BadInput(f"provider {provider!r} is not one of {', '.join(PROVIDERS)}")
    if endpoint_url:
        endpoint_url = validated(validate_endpoint_url, endpoint_url)
    elif provider != "aws":
        raise BadInput(f"an endpoint URL is required for provider {provider!r} (only aws has a default)")
    if region is None:
        preset = PROVIDERS[provider]
        found = preset.region_in_host and endpoint_url and preset.region_in_host.match(urlsplit(endpoint_url).hostname)
        region = found.group(1) if found else preset.default_region
    region = validated(names().validate_region, region)
    return endpoint_url or AWS_ENDPOINT.format(region=region), region


def show(store) -> dict:
    """Return {"configured": False}, or {"configured": True, provider, endpoint_url, bucket,
    region, prefix, access_key, secret_key (masked), created_at, updated_at (ISO-8601 UTC)}."""
    settings = store.s3_config()
    if settings is None:
        return {"configured": False}
    return {
        "configured": True,
        "provider": settings.provider,
        "endpoint_url": settings.endpoint_url,
        "bucket": settings.bucket,
        "region": settings.region,
        "prefix": settings.prefix,
        "access_key": settings.access_key,
        "secret_key": mask_secret(settings.secret_key),
        "created_at": iso_utc(settings.created_at),
        "updated_at": iso_utc(settings.updated_at),
    }


def save(
    store, *, endpoint_url: str | None, bucket: str, access_key: str, region: str | None = None,
    prefix: str | None = None, provider: str = DEFAULT_PROVIDER, secret_key: str | None = None,
    ask_secret: Callable[[], str],
) -> dict:
    """Validate and save the S3 settings; return show() of the result plus "secret_key_kept".

    `secret_key` None keeps the stored secret; when none is stored, `ask_secret()` is called
    (after every other value was validated) and must return it or raise BadInput.
    """
    endpoint_url, region = endpoint_and_region(provider, endpoint_url, region)
    bucket = validated(names().validate_bucket, bucket)
    prefix = validated(names().normalize_prefix, prefix)
    access_key = validated(validate_access_key, access_key)
    if secret_key is None and store.s3_config() is None:
        secret_key = ask_secret()
    if secret_key is not None:
        validated(validate_secret_key, secret_key)
    store.save_s3_config(
        provider=provider, endpoint_url=endpoint_url, bucket=bucket, region=region, access_key=access_key,
        prefix=prefix, secret_key=secret_key,
    )
    return {**show(store), "secret_key_kept": secret_key is None}


def delete(store) -> bool:
    """Delete the S3 settings; return whether there were any (deleting nothing is fine)."""
    return store.delete_s3_config()
