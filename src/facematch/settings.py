"""All configuration, from environment variables with the ``FACEMATCH_`` prefix.

Nested groups use ``__`` (e.g. ``FACEMATCH_LIMITS__MAX_IMAGE_BYTES``). The table
in ``docs/configuration.md`` lists every variable; a test checks it against
this class.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class LimitSettings(BaseModel):
    """Limits on what a request may send."""

    max_image_bytes: int = Field(15 * 1024 * 1024, description="Largest accepted image, in bytes (upload, base64 or URL).")
    max_image_pixels: int = Field(40_000_000, description="Largest accepted image, in decoded pixels (width x height).")
    max_body_bytes: int = Field(45 * 1024 * 1024, description="Largest accepted request body, in bytes.")


class UrlFetchSettings(BaseModel):
    """How ``format_type=url`` images are downloaded."""

    timeout_s: float = Field(10.0, description="Total time allowed for one download, in seconds.")
    max_redirects: int = Field(3, description="Redirects followed (each target is checked again).")


class MatchSettings(BaseModel):
    """Matcher behaviour."""

    calibration_file: Path | None = Field(None, description="Calibration JSON to load instead of the packaged one.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACEMATCH_", env_nested_delimiter="__", extra="ignore")

    env: str = Field("development", description="`development` or `production`; production refuses unsafe defaults.")
    data_dir: Path = Field(Path("./data"), description="Directory for the embedded SQLite database.")
    database_url: str | None = Field(
        None, description="`sqlite:///path` or `postgresql://...`; default: SQLite file `facematch.db` in data_dir.")
    url_allowlist: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated hosts or CIDR ranges that URL input may reach even though they are private.")
    legacy_http_200: bool = Field(False, description="Answer every v2 response with HTTP 200, as the old service did.")
    check_limits: dict[str, float] = Field(
        default_factory=dict,
        description="JSON object overriding warning-check limits, keys `group.field` as in docs/checks.md.")
    demo_key: bool = Field(True, description="Create and print a demo API key at first start when no key exists.")
    admin_secret: SecretStr = Field(SecretStr(""), description="Secret for admin operations; required outside development.")
    workers: int = Field(2, description="Requests matched at the same time in one process; each also gets a side thread for its second image.")
    queue_limit: int = Field(16, description="Requests allowed to wait for a matching thread before 503.")
    request_deadline_s: float = Field(
        30.0, description="Longest a request may take to send its images, fetch its URLs, wait and match; 503 after it.")
    auth_fail_limit: int = Field(
        20, description="Failed authentications per client address (IPv6: per /64) within auth_fail_window_s "
                        "before further attempts get 429 with Retry-After; 0 turns the limit off.")
    auth_fail_window_s: float = Field(60.0, description="The window of auth_fail_limit, in seconds.")
    log_level: str = Field("INFO", description="Python logging level.")
    limits: LimitSettings = Field(default_factory=LimitSettings)
    url_fetch: UrlFetchSettings = Field(default_factory=UrlFetchSettings)
    match: MatchSettings = Field(default_factory=MatchSettings)

    @field_validator("url_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        # Any environment but development (a typo such as "prod" included).
        if self.env != "development" and len(self.admin_secret.get_secret_value().strip()) < 16:
            raise ValueError("FACEMATCH_ADMIN_SECRET must be set (16+ characters) unless FACEMATCH_ENV=development")
        return self

    def allowlist_networks(self) -> tuple[list[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
        """Split the allow-list into host names and networks."""
        hosts: list[str] = []
        nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for item in self.url_allowlist:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                hosts.append(item.lower().rstrip("."))
        return hosts, nets

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'facematch.db').resolve()}"
