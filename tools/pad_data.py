"""The presentation-attack data sets, read in place from ../shared/data
(never copied), and their features, cached: what ``tools.fit_pad`` fits on and
``benchmarks.pad`` measures on.

Sets: ``pad/replay_a``-``replay_d`` (real bona fide webcam crops and their
screen replays), ``pad/nuaa_print`` (whole webcam frames and print attacks);
synthetic screen replays and prints (``tools/synth/recapture.py``) of LFW
faces and ``attributes/clean_face``, each with its bona fide original (LFW
split by person, ``lfw_split``: the ``fit`` half may be fitted on, the
``test`` half never is); whole frames (synthetic photographed ID cards and
1280x960 selfies of LFW test-half faces, genuine, replayed, printed);
``documents/specimens`` (bona fide card photos, with a synthetic replay and
print of each); bona fide only: clean_face, LFW, Yale, ``asian/casia_v5``
(split by person into ``fit`` and ``test``), mask and sunglasses photos.

Faces are found by the real detector (the Matcher's,
``tools/local.py``); boxes and features are cached under /tmp/pad-cache,
keyed by the source of the code they depend on, so a change recomputes them.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CACHE = Path("/tmp/pad-cache")
ROOT = Path(__file__).resolve().parents[1]
#: Synthetic attacks per LFW half (one image per person, persons sampled by seed).
LFW_ATTACK_PEOPLE = 300
#: Whole-frame synthetic cards and selfies (LFW test half), each genuine, replayed and printed.
FRAMES = 100
#: JPEG qualities of the recompressed twins (``recompressed_twins``): what phones and apps send, from a
#: camera's own file to a messaging app's.
JPEG_QUALITIES = (40, 50, 60, 70, 80, 90)
#: Exposures of the exposure twins (``exposure_twins``), in stops: a window behind, a dim room, a face lit
#: by a lamp or the screen, one overexposed.
EXPOSURE_STOPS = (-1.0, -0.5, 0.5, 1.0)


@dataclass(frozen=True)
class Item:
    """One image of a set: ``make`` turns the decoded source into the image
    scored, steps separated by ``|`` (``card:SEED``: a photographed synthetic
    ID card around it, ``selfie:SEED``: a 1280x960 selfie, ``replay:SEED``,
    ``print:SEED``: the attacks, ``jpeg:Q``: saved as JPEG at quality Q, ``exposure:S``: S tenths of a stop
    more exposed, ``exposed``; empty: the image itself);
    ``label`` 1 = attack."""

    key: str
    path: Path
    label: int
    attack: str  # "none", "replay" or "print"
    make: str  # "", or steps such as "replay:SEED" and "jpeg:Q"


def exposed(rgb: np.ndarray, stops: float) -> np.ndarray:
    """``rgb`` exposed ``stops`` more (negative: less), in linear light (sRGB taken as a 2.2 power), clipped
    as a sensor clips: the camera's auto-exposure set by a window, a lamp or a dark room."""
    lin = (np.asarray(rgb, np.float32) / 255.0) ** 2.2 * np.float32(2.0 ** stops)
    return np.clip(np.round(255.0 * np.clip(lin, 0.0, 1.0) ** (1 / 2.2)), 0, 255).astype(np.uint8)


def exposure_twins(items: list[Item], stops: tuple[float, ...] | None = None) -> list[Item]:
    """Each item exposed once more (``exposure:S``, S tenths of a stop, then ``jpeg:90`` as a camera saves
    it): at each of ``stops``, or at one of ``EXPOSURE_STOPS`` picked by a hash of its key."""
    out = []
    for it in items:
        for s in stops or (EXPOSURE_STOPS[zlib.crc32(it.key.encode()) % len(EXPOSURE_STOPS)],):
            tenths = round(10 * s)
            out.append(Item(f"{it.key}#exposure{tenths:+d}", it.path, it.label, it.attack,
                            "|".join(filter(None, (it.make, f"exposure:{tenths}", "jpeg:90")))))
    return out


def recompressed_twins(items: list[Item], qualities: tuple[int, ...] | None = None) -> list[Item]:
    """Each item saved once more as JPEG (``jpeg:Q``, after its own steps): at each of ``qualities``, or
    at one of ``JPEG_QUALITIES`` picked by a hash of its key. A client never sends an uncompressed
    bitmap; CASIA's BMP crops and the replay sets' PNG crops are read as stored, and JPEG alone moves
    the hue texture by several standard deviations."""
    out = []
    for it in items:
        for q in qualities or (JPEG_QUALITIES[zlib.crc32(it.key.encode()) % len(JPEG_QUALITIES)],):
            out.append(Item(f"{it.key}#jpeg{q}", it.path, it.label, it.attack,
                            "|".join(filter(None, (it.make, f"jpeg:{q}")))))
    return out


def lfw_split(person: str) -> str:
    """Half of LFW's (or CASIA's) people, by a hash of the name: "fit" or "test"."""
    return "fit" if zlib.crc32(person.encode()) % 2 == 0 else "test"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".gif", ".bmp"})


def sets(data: Path) -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for name in ("replay_a", "replay_b", "replay_c", "replay_d"):
        base = data / "pad" / name
        if not base.is_dir():
            continue
        out[name] = [Item(f"{name}/live/{p.name}", p, 0, "none", "") for p in _files(base / "live")] + [
            Item(f"{name}/spoof/{p.name}", p, 1, "replay", "") for p in _files(base / "spoof_replay")]
    nuaa = data / "pad" / "nuaa_print"  # whole 640x480 webcam frames, detection in the loop
    if nuaa.is_dir():
        out["nuaa_print"] = [Item(f"nuaa/live/{p.name}", p, 0, "none", "") for p in _files(nuaa / "live")] + [
            Item(f"nuaa/spoof/{p.name}", p, 1, "print", "") for p in _files(nuaa / "spoof_print")]
    clean = _files(data / "attributes" / "clean_face")
    out["clean_face"] = [Item(f"clean/{p.name}", p, 0, "none", "") for p in clean]
    out["synth_clean_face"] = out["clean_face"] + [
        Item(f"clean/{p.name}#{kind}", p, 1, kind, f"{kind}:{1000 + i}")
        for i, p in enumerate(clean) for kind in ("replay", "print")]
    people = sorted((data / "lfw" / "images").iterdir())
    for half in ("fit", "test"):
        mine = [p for p in people if lfw_split(p.name) == half]
        out[f"lfw_{half}"] = [Item(f"lfw/{p.parent.name}/{p.name}", p, 0, "none", "")
                              for d in mine for p in _files(d)]
        rng = np.random.default_rng(0 if half == "fit" else 1)
        chosen = [mine[i] for i in sorted(rng.choice(len(mine), LFW_ATTACK_PEOPLE, replace=False))]
        firsts = [_files(d)[0] for d in chosen]
        seed0 = 0 if half == "fit" else 50_000
        out[f"synth_lfw_{half}"] = [Item(f"lfw/{p.parent.name}/{p.name}", p, 0, "none", "") for p in firsts] + [
            Item(f"lfw/{p.parent.name}/{p.name}#{kind}", p, 1, kind, f"{kind}:{seed0 + i}")
            for i, p in enumerate(firsts) for kind in ("replay", "print")]
    out["yale"] = [Item(f"yale/{p.name}", p, 0, "none", "") for p in _files(data / "yale" / "images")]
    for half in ("fit", "test"):  # East-Asian webcam bona fide, split by person like LFW
        out[f"casia_{half}"] = [Item(f"casia/{p.parent.name}/{p.name}", p, 0, "none", "")
                                for p in _files(data / "asian" / "casia_v5") if lfw_split(p.parent.name) == half]
    # Bona fide sets no fit sees, saved again as JPEG as a client's app would send them.
    out["casia_test_jpeg"] = recompressed_twins(out["casia_test"], (75, 60, 40))
    out["clean_face_jpeg"] = recompressed_twins(out["clean_face"], (60, 40))
    out["lfw_test_jpeg"] = recompressed_twins(out["lfw_test"][::10], (60,))
    # ... and taken a stop over (a lamp or a bright screen in front, a dark background; ``exposure_twins``).
    out["casia_test_over"] = exposure_twins(out["casia_test"], (1.0,))
    out["clean_face_over"] = exposure_twins(out["clean_face"], (1.0,))
    out["lfw_test_over"] = exposure_twins(out["lfw_test"][::8], (1.0,))
    # Real public specimen ID documents (bona fide as a card photo) and a synthetic screen replay and
    # print of each: the card-side rule (benchmarks/pad.py: card_rates).
    specimens = _files(data / "documents" / "specimens")
    out["specimens"] = [Item(f"specimens/{p.name}{suffix}", p, int(bool(kind)), kind or "none",
                             f"{kind}:{90_000 + i}" if kind else "")
                        for i, p in enumerate(specimens) for kind, suffix in (("", ""), ("replay", "#replay"),
                                                                               ("print", "#print"))]
    out["attributes_occluded"] = [Item(f"attributes/{p.parent.name}/{p.name}", p, 0, "none", "")
                                  for sub in ("mask", "sunglasses") for p in _files(data / "attributes" / sub)]
    # Whole frames: a synthetic photographed ID card (tools/synth/cards.py) and a 1280x960
    # selfie of LFW test-half faces, genuine, shown on a screen, printed.
    firsts = [it.path for it in out["synth_lfw_test"] if it.label == 0][:FRAMES]
    for frame in ("card", "selfie"):
        out[f"synth_{frame}_test"] = [
            Item(f"lfw/{p.parent.name}/{p.name}#{frame}{suffix}", p, int(bool(kind)), kind or "none",
                 f"{frame}:{i}" + (f"|{kind}:{70_000 + i}" if kind else ""))
            for i, p in enumerate(firsts) for kind, suffix in (("", ""), ("replay", "+replay"), ("print", "+print"))]
    return out


# --------------------------------------------------------------------------- images, boxes, features


def _source_hash() -> str:
    """Hash of the code the cached boxes and features depend on."""
    import inspect

    from facematch.imaging import spectrum
    from facematch.models import pad
    from tools.synth import recapture

    h = hashlib.sha256()
    for obj in (pad.features, pad.face_region, pad._soft, pad.hue_texture, spectrum.peak_prominence, spectrum._spectrum_mask,
                spectrum.face_patch, spectrum.face_square, spectrum._above_local, recapture):
        h.update(inspect.getsource(obj).encode())
    h.update(repr((pad.FEATURES, pad.PATCH, pad.COLOUR_SIDE, pad.SOFT_SIDE, pad._RING)).encode())
    return h.hexdigest()[:12]


def _detect(rgb: np.ndarray) -> list[Any]:
    """Faces as the service finds them: the Matcher's detector (tools/local.py)."""
    from tools.local import matcher

    with matcher().pool.bundle() as bundle:
        return bundle.detector.detect(rgb)


def recompressed(rgb: np.ndarray, quality: int) -> np.ndarray:
    """``rgb`` saved as JPEG at ``quality`` with 4:2:0 chroma (libjpeg's default, what phones and
    apps send) and decoded again."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def image(item: Item) -> np.ndarray:
    from facematch.imaging.decode import decode_image
    from tools.synth import cards
    from tools.synth.recapture import print_attack, screen_replay

    rgb = decode_image(item.path.read_bytes(), max_bytes=64 << 20, max_pixels=80_000_000)
    for step in filter(None, item.make.split("|")):
        kind, seed = step.split(":")
        if kind == "card":
            rng = np.random.default_rng(int(seed))
            rgb = cards.photograph(cards.render_card(rgb, rng)[0], rng)
        elif kind == "selfie":
            rgb = cards.render_portrait_selfie(rgb, np.random.default_rng(int(seed)))
        elif kind == "jpeg":
            rgb = recompressed(rgb, int(seed))
        elif kind == "exposure":
            rgb = exposed(rgb, int(seed) / 10)
        else:
            rgb = (screen_replay if kind == "replay" else print_attack)(rgb, int(seed))
    return rgb


class FeatureCache:
    """``key -> (box or None, features)`` persisted as JSON in /tmp/pad-cache."""

    def __init__(self) -> None:
        CACHE.mkdir(parents=True, exist_ok=True)
        self.path = CACHE / f"features-{_source_hash()}.json"
        self.data: dict[str, dict[str, list[float] | None]] = (
            json.loads(self.path.read_text()) if self.path.exists() else {})
        self.dirty = 0

    def get(self, item: Item) -> tuple[list[float] | None, np.ndarray]:
        hit = self.data.get(item.key)
        if hit is None:
            from facematch.models.pad import features

            rgb = image(item)
            dets = _detect(rgb)
            box = [float(v) for v in dets[0].box] if dets else None
            x = features(rgb, tuple(box) if box else None)  # type: ignore[arg-type]
            hit = {"box": box, "x": [float(v) for v in x]}
            self.data[item.key] = hit
            self.dirty += 1
            if self.dirty % 200 == 0:
                self.save()
        return hit["box"], np.asarray(hit["x"], dtype=np.float64)

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


def matrix(cache: FeatureCache, items: list[Item]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features n x k, labels, attack types) of ``items``."""
    x = np.stack([cache.get(it)[1] for it in items])
    return x, np.array([it.label for it in items]), np.array([it.attack for it in items])
