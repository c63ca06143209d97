# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection knows about S3 providers, and the aws CLI files that say it.

- PROVIDERS: per provider, the default region (and where the endpoint host names it), the
  addressing style and whether checksums are sent only when required.
- resolve_provider(): a provider's settings once the preset fills what is not given;
  endpoint_and_region(): the endpoint and region the wrapper stores (only aws has a default endpoint).
- render_config() / render_credentials(): the text of the aws CLI `config` and `credentials`
  files. Rendering knows nothing of where the files go: the s3_credentials module writes them
  on tmpfs for one run; a long-lived root-only pair can reuse the same texts.

Pure Python with no imports from Ansible: the wrapper imports it too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

try:
    from urllib.parse import urlsplit
except ImportError:  # Python 2 targets
    from urlparse import urlsplit

from ansible_collections.infrakt.backup.plugins.module_utils.names import (
    validate_credential,
    validate_endpoint_url,
    validate_region,
)

CREDENTIALS_FILE = "credentials"
CONFIG_FILE = "config"
CHUNKSIZE_RE = re.compile(r"^[1-9][0-9]{0,12}(?:KB|MB|GB)?\Z")

# region: used when neither given nor named in the endpoint host; region_in_host: pattern of
# the endpoint host whose group 1 is the region (B2 and Wasabi sign with the endpoint's
# region; R2 signs with the pseudo-region "auto").
# checksum_when_required: send/verify the new flexible checksums only when an API demands
# them, because B2 and R2 reject the x-amz-sdk-checksum-algorithm headers (FACTS.md).
# endpoint: the provider's own endpoint in a region, used when none is given; only AWS S3 has
# one (every other provider's endpoint names an account, a data center or a server).
Preset = namedtuple("Preset", "region region_in_host addressing_style checksum_when_required endpoint")
PROVIDERS = {
    "aws": Preset("us-east-1", re.compile(r"^s3[.-](?:dualstack\.)?([a-z0-9-]+)\.amazonaws\.com\Z"), "virtual", False,
                  "https://s3.{region}.amazonaws.com"),
    "digitalocean": Preset("nyc3", re.compile(r"^([a-z0-9-]+)\.digitaloceanspaces\.com\Z"), "virtual", True, None),
    "backblaze": Preset("us-west-004", re.compile(r"^s3\.([a-z0-9-]+)\.backblazeb2\.com\Z"), "virtual", True, None),
    "cloudflare-r2": Preset("auto", None, "path", True, None),
    "minio": Preset("us-east-1", None, "path", True, None),
    "wasabi": Preset("us-east-1", re.compile(r"^s3\.([a-z0-9-]+)\.wasabisys\.com\Z"), "virtual", True, None),
    "custom": Preset("us-east-1", None, "path", True, None),
}
ADDRESSING_STYLES = ("auto", "path", "virtual")


def validate_provider(provider):
    """Return provider if it has a preset; raise ValueError otherwise."""
    if provider not in PROVIDERS:
        raise ValueError("provider %r is not one of %s" % (provider, ", ".join(sorted(PROVIDERS))))
    return provider


def provider_region(provider, endpoint_url=None, region=None):
    """Return the signing region for provider: region when given, else the one named in the
    endpoint URL's host (AWS, DigitalOcean, B2, Wasabi), else the provider's default."""
    preset = PROVIDERS[validate_provider(provider)]
    if region:
        return validate_region(region)
    host = urlsplit(endpoint_url).hostname if endpoint_url else None
    match = preset.region_in_host.match(host) if preset.region_in_host is not None and host else None
    return validate_region(match.group(1) if match else preset.region)


def endpoint_and_region(provider, endpoint_url=None, region=None):
    """Return the validated (endpoint URL, region) for provider: region as provider_region()
    gives it; endpoint_url, else (none given) the provider's own endpoint in that region, which
    only aws has. Raise ValueError for an unknown provider, a missing endpoint or an invalid value."""
    preset = PROVIDERS[validate_provider(provider)]
    if endpoint_url:
        endpoint_url = validate_endpoint_url(endpoint_url)
    elif preset.endpoint is None:
        raise ValueError("an endpoint URL is required for provider %r (only aws has a default)" % provider)
    region = provider_region(provider, endpoint_url, region)
    return endpoint_url or preset.endpoint.format(region=region), region


def resolve_provider(provider, endpoint_url=None, region=None, addressing_style=None):
    """Return the settings for provider after its preset fills what is not given:
    {"provider", "region", "addressing_style", "checksum_when_required"}. The region falls
    back to the one in the endpoint host (B2, Wasabi, DigitalOcean, AWS), then the preset's."""
    preset = PROVIDERS[validate_provider(provider)]
    if endpoint_url:
        validate_endpoint_url(endpoint_url)
    style = addressing_style or preset.addressing_style
    if style not in ADDRESSING_STYLES:
        raise ValueError("addressing style %r is not one of %s" % (style, ", ".join(ADDRESSING_STYLES)))
    return {
        "provider": provider,
        "region": provider_region(provider, endpoint_url, region),
        "addressing_style": style,
        "checksum_when_required": preset.checksum_when_required,
    }


def render_config(settings, max_concurrent_requests=10, multipart_chunksize="16MB", max_attempts=3):
    """Return the text of the aws CLI `config` file (profile default) for settings from
    resolve_provider() and the transfer settings."""
    if not 1 <= int(max_concurrent_requests) <= 100:
        raise ValueError("max_concurrent_requests must be between 1 and 100")
    if not CHUNKSIZE_RE.match(str(multipart_chunksize)):
        raise ValueError("multipart_chunksize %r is not a size like 8388608, 16MB or 1GB" % (multipart_chunksize,))
    if not 1 <= int(max_attempts) <= 20:
        raise ValueError("max_attempts must be between 1 and 20")
    lines = [
        "[default]",
        "region = %s" % settings["region"],
        "output = json",
        # standard retries with few attempts: an unreachable endpoint fails in a second, not
        # after the legacy mode's five backed-off attempts
        "retry_mode = standard",
        "max_attempts = %d" % int(max_attempts),
    ]
    if settings["checksum_when_required"]:
        lines += ["request_checksum_calculation = when_required", "response_checksum_validation = when_required"]
    lines += [
        "s3 =",
        "    addressing_style = %s" % settings["addressing_style"],
        "    max_concurrent_requests = %d" % int(max_concurrent_requests),
        "    multipart_chunksize = %s" % multipart_chunksize,
        "    multipart_threshold = %s" % multipart_chunksize,
    ]
    return "\n".join(lines) + "\n"


def render_credentials(access_key, secret_key):
    """Return the text of the aws CLI `credentials` file (profile default)."""
    return "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (
        validate_credential(access_key, "access key"),
        validate_credential(secret_key, "secret key"),
    )


def s3_argument_spec():
    """Return the argument_spec options shared by the modules of action group
    infrakt.backup.s3 (s3_object, s3_credentials), described in doc fragment infrakt.backup.s3."""
    return dict(endpoint_url=dict(type="str"))


def s3_keys_argument_spec():
    """Return the argument_spec options of the S3 keys and the settings of the aws CLI files
    made of them (credential_files), described in doc fragment infrakt.backup.s3_keys: taken
    by s3_credentials, and by the modules that write them for their own run."""
    return dict(
        access_key=dict(type="str", no_log=True),
        secret_key=dict(type="str", no_log=True),
        provider=dict(type="str", choices=sorted(PROVIDERS)),
        region=dict(type="str"),
        addressing_style=dict(type="str", choices=list(ADDRESSING_STYLES)),
        max_concurrent_requests=dict(type="int", default=10),
        multipart_chunksize=dict(type="str", default="16MB"),
        max_attempts=dict(type="int", default=3),
    )


def credential_files(params):
    """Return the settings of the provider preset module params (s3_keys_argument_spec, and
    endpoint_url) name and {file name: text} of the aws CLI credentials and config files."""
    provider = params["provider"] or ("custom" if params["endpoint_url"] else "aws")
    settings = resolve_provider(provider, params["endpoint_url"], params["region"], params["addressing_style"])
    files = {
        CREDENTIALS_FILE: render_credentials(params["access_key"], params["secret_key"]),
        CONFIG_FILE: render_config(
            settings, params["max_concurrent_requests"], params["multipart_chunksize"], params["max_attempts"]
        ),
    }
    return settings, files
