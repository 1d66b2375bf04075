"""Everything fitted that serving loads, read by one function.

Eight kinds, each with one versioned schema (the JSON's ``schema`` key):

========================  ==========================  ====================================
kind                      schema                      class
========================  ==========================  ====================================
distance -> percent map   ``facematch-calibration/1`` ``artifacts.calibration.Calibration``
embedding transform       ``facematch-adaptation/1``  ``artifacts.adaptation.Adaptation``
presentation-attack model ``facematch-pad/1``         ``artifacts.pad.PadModel``
hat model (code 8)        ``facematch-hat/2``         ``artifacts.hat.HatModel``
mask model (code 9)       ``facematch-occlusion/1``   ``artifacts.occlusion.OcclusionModel``
sunglasses model (code 7) ``facematch-sunglasses/1``  ``artifacts.sunglasses.SunglassesModel``
mouth model (code 9)      ``facematch-mask-mouth/1``  ``artifacts.sunglasses.MaskMouthModel``
hat, top of the chip (8)  ``facematch-hattop/1``      ``artifacts.hat.HatTopModel``
========================  ==========================  ====================================

Each document records its ``version`` and its provenance (model, data, date,
command, targets: what it was fitted on). Packaged documents live in
``facematch/data/`` and their sha256 is pinned in ``PACKAGED``: one that does
not match is refused. A document given by path (a deployment's own, written by
``facematch adapt`` or ``facematch eval --fit-calibration``) is read as is and
its sha256 is kept on the loaded object, so that start-up logs can name
exactly what is serving. The code that fits them lives in ``facematch.fit``,
which serving never imports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

#: sha256 of every packaged document (``facematch/data/<file>``); a refit changes the file and its pin together.
PACKAGED: dict[str, str] = {
    "calibration-asia-v1.json": "99932a0f90ba12405c2cf0605018ec0a6f3fd87e119feba0c400a0e27d2db327",
    "calibration-asia-v2.json": "a5f7fd383449e8944447b6c9100d46238a6628095c7becc5f433c5a73401dc17",
    "calibration-lfw-v1.json": "2ff1d34b5eedc57b086a9fec7374d82ef8f03ca860931362782feb7a1a48a422",
    "calibration-sface-v1.json": "6ed776f0e722a161a89067c819791525e2ab46643ce6080e7eb0f46c1f759b7a",
    "mask-mouth-v1.json": "4b2450957759219467300580f831c15e3029ea65b17eac1e30f11e96957ae8f8",
    "hat-v3.json": "4e1c94538499859e6ca6c100058f3e331ab3526a0aff588899bc680bee89c6af",
    "hattop-v1.json": "6561538e3e6f388f9598fb378d8d03b4df4f103469c2131b89ff5d88466a5c21",
    "occlusion-v1.json": "fe478bfed1ab2139ed72c2e1ef5572f12cd751605406c77f5e5db0f70b24acac",
    "pad-v1.json": "3c3f457d628182021bb7b4ed9e3d9acda54e6ca066be34b58229943bed491f9e",
    "sunglasses-v1.json": "053d40e62307bd3672142ac9c56559d3f82c025ea21553ae316219b0c811a137",
}


class ArtifactError(ValueError):
    """A document that is not the artefact it should be (schema, digest, content)."""


@dataclass(frozen=True)
class Source:
    """Where a loaded artefact came from."""

    name: str  # the packaged file name, or the path given
    sha256: str
    packaged: bool


class Artifact(Protocol):
    KIND: ClassVar[str]
    #: The schema this code reads; documents of another schema are refused.
    SCHEMA: ClassVar[str]

    @classmethod
    def from_doc(cls, doc: dict[str, Any], source: Source) -> Self: ...


A = TypeVar("A", bound=Artifact)


def packaged_names(kind: str) -> list[str]:
    """Versions of the packaged documents of ``kind`` (``<kind>-<version>.json``)."""
    prefix = f"{kind}-"
    return sorted(n[len(prefix):-len(".json")] for n in PACKAGED if n.startswith(prefix) and n.endswith(".json"))


def _read_packaged(file: str) -> tuple[bytes, Source]:
    if file not in PACKAGED:
        raise ArtifactError(f"{file} is not a packaged artefact")
    raw = resources.files("facematch.data").joinpath(file).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != PACKAGED[file]:
        raise ArtifactError(f"packaged artefact {file} has sha256 {digest}, expected {PACKAGED[file]}: "
                            "the package is damaged or the file was refitted without updating its pin")
    return raw, Source(file, digest, True)


def load(cls: type[A], *, version: str | None = None, path: str | Path | None = None) -> A:
    """The artefact of class ``cls``: the packaged one of ``version``, or the document at ``path``."""
    if (version is None) == (path is None):
        raise TypeError("load() takes exactly one of version= and path=")
    if version is not None:
        if version not in packaged_names(cls.KIND):
            raise ArtifactError(f"no packaged {cls.KIND} {version!r}: choose one of {packaged_names(cls.KIND)}")
        raw, source = _read_packaged(f"{cls.KIND}-{version}.json")
    else:
        raw = Path(str(path)).read_bytes()
        source = Source(str(path), hashlib.sha256(raw).hexdigest(), False)
    return parse(cls, raw, source)


def parse(cls: type[A], raw: bytes | str, source: Source | None = None) -> A:
    """``raw`` read as a document of ``cls``'s schema."""
    data = raw.encode() if isinstance(raw, str) else raw
    source = source or Source("<memory>", hashlib.sha256(data).hexdigest(), False)
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"{source.name}: not a JSON document ({e})") from None
    if not isinstance(doc, dict):
        raise ArtifactError(f"{source.name}: not a {cls.KIND} document")
    schema = doc.get("schema")
    if schema is None and getattr(cls, "UNMARKED_IS_CURRENT", False):
        schema = cls.SCHEMA  # written before documents named their schema: the first schema
    if schema != cls.SCHEMA:
        raise ArtifactError(f"{source.name}: schema {schema!r} is not {cls.SCHEMA!r}")
    try:
        return cls.from_doc(doc, source)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ArtifactError):
            raise
        raise ArtifactError(f"{source.name}: not a valid {cls.KIND} document ({e!r})") from None
