"""All configuration, from environment variables with the ``FACEMATCH_`` prefix.

Nested groups use ``__`` (e.g. ``FACEMATCH_LIMITS__MAX_IMAGE_BYTES``). The table
in ``docs/configuration.md`` lists every variable; a test checks it against
this class.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class LimitSettings(BaseModel):
    """Limits on what a request may send."""

    max_image_bytes: int = Field(15 * 1024 * 1024,
                                 description="Largest accepted image, in bytes (upload, base64 or URL).")
    max_image_pixels: int = Field(
        40_000_000, description="Largest accepted image, in decoded pixels (width x height). A JPEG above 4096 px "
                                "is decoded at a half, a quarter or an eighth of its side, and its header may "
                                "declare up to 4 times this (a 50- or 108-megapixel phone photo).")
    max_body_bytes: int = Field(45 * 1024 * 1024, description="Largest accepted request body, in bytes.")
    max_chip_bytes: int = Field(
        256 * 1024, description="Largest accepted chip portrait (`type1=chip`: DG2 bytes or its image), in bytes.")
    max_chip_pixels: int = Field(
        2_000_000, description="Largest accepted chip portrait, in decoded pixels (chips hold about 480x640).")
    max_decode_bytes: int = Field(
        320 * 1024 * 1024, ge=0,
        description="Memory that image decoding may hold at once in one process, estimated from each image's "
                    "header and format; a decode that would pass it waits for others to finish (an image larger "
                    "than it decodes alone). 0: no bound.")


class UrlFetchSettings(BaseModel):
    """How ``format_type=url`` images are downloaded."""

    timeout_s: float = Field(10.0, description="Total time allowed for one download, in seconds.")
    max_redirects: int = Field(3, description="Redirects followed (each target is checked again).")


class MatchSettings(BaseModel):
    """Matcher behaviour."""

    calibration: str = Field("", description="Packaged calibration to use (docs/accuracy.md); empty: the one "
                                             "fitted for the embedder (`sface-v1` for SFace, `asia-v2` for dlib).")
    calibration_file: Path | None = Field(
        None, description="Calibration JSON to load instead of the packaged one (e.g. written by `facematch adapt`).")
    adaptation_file: Path | None = Field(
        None, description="Embedding adaptation JSON written by `facematch adapt` (with the calibration it wrote, "
                          "FACEMATCH_MATCH__CALIBRATION_FILE); none by default.")
    parallel: bool = Field(True, description="Analyse the two images of a request on two threads.")
    min_calibrated_eye_distance: float = Field(
        11.0, ge=0, description="Eye distance (pixels) below which the calibration's false-accept rate was never "
                                "measured (docs/accuracy.md, face size and blur): a match (1) on such a face is "
                                "reported as review (0) with finding `face_too_small_for_calibration`; 0: off.")


class OnnxEmbedderSettings(BaseModel):
    """An ONNX face-embedding network a deployment holds a licence for (docs/models.md)."""

    path: Path | None = Field(None, description="The `.onnx` file.")
    name: str = Field("", description="Name recorded in calibrations fitted for it "
                                      "(default: `onnx-<file stem>-<hash of the file and these settings>`).")
    alignment: str = Field("arcface112", description="`arcface112` (five-point template from dlib's points), "
                                                     "`arcface5` (the same template from the face mesh's eye centres, "
                                                     "nose tip and mouth corners) or `dlib150` (dlib's chip).")
    size: int = Field(112, description="Side of the square input, in pixels.")
    layout: Literal["NCHW", "NHWC"] = Field("NCHW", description="Input tensor layout.")
    channels: Literal["RGB", "BGR"] = Field("RGB", description="Channel order the network expects.")
    mean: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [127.5],
        description="Subtracted from pixel values: one number or three, comma-separated.")
    std: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [127.5], description="Pixel values are divided by it after the mean: one or three.")
    mirror: bool = Field(False, description="Average the embeddings of the face and its mirror image.")

    @field_validator("mean", "std", mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        if isinstance(value, (int, float)):
            return [float(value)]
        return value

    @field_validator("mean", "std")
    @classmethod
    def _one_or_three(cls, value: list[float]) -> list[float]:
        if len(value) not in (1, 3):
            raise ValueError("give one number or three (one per channel)")
        return value


class ModelSettings(BaseModel):
    """Which model does what: names in ``facematch.models.registry``."""

    detector: str = Field("blazeface", description="Face detector.")
    landmarker: str = Field("dlib-5", description="Five-point landmark model.")
    embedder: str = Field("sface-2021dec", description="Face embedding: `sface-2021dec` (SFace, the default), "
                                                       "`dlib-resnet-v1` (dlib's ResNet) or `onnx`.")
    attack_detector: str = Field(
        "recapture-v1", description="Presentation-attack model for invalidCode 10 on portraits (and on card photos "
                                    "with `attack_model_on_cards`): `recapture-v1` or `none` (the spectral "
                                    "recapture check alone).")
    attack_model_on_cards: bool = Field(
        False, description="Also score card photos with the attack model, beside the spectral check (either "
                           "flags). Off by default: fitted on synthetic cards, it flagged most real phone photos "
                           "of genuine cards (docs/presentation-attacks.md).")
    verify_weights: bool = Field(False, description="Check every weights file's SHA-256 at start.")
    onnx_memory_arena: bool = Field(
        False, description="Give the embedding network's ONNX Runtime session its CPU memory arena: about 10 ms "
                           "less CPU per image with SFace, but the arena keeps a block for every run that "
                           "overlapped another (SFace: +110 MiB after four at once, against +30 MiB without; "
                           "docs/performance.md, Memory).")
    onnx: OnnxEmbedderSettings = Field(default_factory=OnnxEmbedderSettings)


class ChipSettings(BaseModel):
    """Passive authentication of the CCCD chip's data (``type1=chip`` with ``sod``; docs/chip.md)."""

    csca: Path | None = Field(None, description="Trusted country signing CA certificates: a PEM bundle, a DER "
                                                "certificate or an ICAO CSCA master list (`.ml`). Loaded at start; "
                                                "without it every chip is `not_checked`.")
    crl: Path | None = Field(None, description="CRLs of those CSCAs (PEM or DER), optional.")
    max_sod_bytes: int = Field(64 * 1024, description="Largest accepted EF.SOD, in bytes; larger is `malformed`.")
    max_data_group_bytes: int = Field(64 * 1024, description="Largest accepted dg1/dg13/dg14/dg15, in bytes; "
                                                             "larger is `malformed`.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACEMATCH_", env_nested_delimiter="__", extra="ignore")

    env: str = Field("development", description="`development` or `production`; production refuses unsafe defaults "
                                                 "(a demo key).")
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
    workers: int = Field(2, description="Requests matched at the same time in one process; each also gets a side "
                                        "thread for its second image.")
    queue_limit: int = Field(16, description="Requests allowed to wait for a matching thread before 503.")
    key_in_flight: int | None = Field(
        None, ge=1,
        description="Most requests one API key may have admitted at once (matching or waiting) before 503; "
                    "default: queue_limit, at least workers, which keeps workers slots free for other keys.")
    head_timeout_s: float = Field(
        10.0, ge=0,
        description="Longest a connection may take to send a request's line and headers (from connecting, or "
                    "from the previous response when kept alive) before it is closed (Slowloris); 0 turns it off.")
    request_deadline_s: float = Field(
        30.0,
        description="Longest a request may take to send its images, fetch its URLs, wait and match; 503 after it.")
    auth_fail_limit: int = Field(
        20, description="Failed authentications per client address (IPv6: per /64) within auth_fail_window_s "
                        "before further attempts get 429 with Retry-After; 0 turns the limit off.")
    auth_fail_window_s: float = Field(60.0, description="The window of auth_fail_limit, in seconds.")
    log_level: str = Field("INFO", description="Python logging level.")
    limits: LimitSettings = Field(default_factory=LimitSettings)
    url_fetch: UrlFetchSettings = Field(default_factory=UrlFetchSettings)
    match: MatchSettings = Field(default_factory=MatchSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    chip: ChipSettings = Field(default_factory=ChipSettings)

    @field_validator("url_allowlist", mode="before")
    @classmethod
    def _split_allowlist(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        # Any environment but development (a typo such as "prod" included): a
        # demo key printed to the log is a credential anyone with the log holds.
        if self.env != "development" and self.demo_key:
            raise ValueError("FACEMATCH_DEMO_KEY must be false unless FACEMATCH_ENV=development")
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
