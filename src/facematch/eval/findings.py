"""The warnings a folder of photos raises, as the service raises them
(``facematch checks``).

The warning checks were tuned on development data, and their false-alarm
rates moved on photos from other people and cameras (issue 23: a card-side
attack model fitted on synthetic cards flagged 84 of 117 genuine CCCD
photos). A bank can measure them on its own captures before it serves:
genuine card photos sent as ``type1=card`` (every card-side warning on them
is a false alarm), genuine selfies as portraits, or a set of known attacks
to read one code's recall.

Each image goes through the service's own pipeline (``Matcher.analyze``:
the configured models and check limits, ``FACEMATCH_CHECK_LIMITS``
included), as ``img1`` for a card and ``img2`` for a portrait. Counted per
code: the images whose response would list it among its ``warnings``
("raised"), and those whose response would carry it as ``invalidCode``
("shown": a photo without a face is errorCode 3 with invalidCode 4 or 5;
otherwise the most severe finding, ``checks.policy``). Rates come with
Wilson 95 % intervals: 0 of 117 is "at most 3.2 %", not "0 %".

The summary holds no image, face, embedding, score or file name. A list of
which file raised what is written only when asked for (``--list``): file
names can carry personal data (a citizen's ID number).
"""

from __future__ import annotations

import csv
import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from facematch.checks import policy
from facematch.errors import FaceMatchError
from facematch.eval import workers as pool
from facematch.imaging.decode import Header, header
from facematch.matcher import Matcher, no_face_code
from facematch.settings import Settings
from facematch.types import ImageKind, InvalidCode

#: Codes reported for each kind even when no image raised them (what a genuine image of that kind may raise).
CODES = {ImageKind.CARD: (1, 2, 3, 10, 6, 11), ImageKind.PORTRAIT: (10, 9, 7, 8, 6, 11, 12)}
#: On a card, the codes that call the document itself into question: on a genuine card, a fraud alarm.
CARD_FRAUD = (1, 2, 3, 10)
GENUINE = "genuine"

@dataclass(frozen=True)
class Judged:
    """What the service said of one image."""

    name: str
    readable: bool
    face: bool
    codes: tuple[int, ...]  # every finding's code, once each, sorted
    shown: int  # the invalidCode this image gives the response; -1 when unreadable (errorCode 1)
    #: Each finding's check, code, measured value and limit (NaN where the check gives none).
    measured: tuple[tuple[str, int, float, float], ...] = ()
    #: What the photo's header says (format, size, JPEG quality, colour space converted from); None unreadable.
    header: Header | None = None


def judge(matcher: Matcher, raw: bytes, kind: ImageKind, name: str = "") -> Judged:
    """One image through ``matcher`` as the API reads it."""
    try:
        a = matcher.analyze(raw, kind, "img1" if kind is ImageKind.CARD else "img2")
    except FaceMatchError:
        return Judged(name, False, False, (), -1)
    found = [f for f in a.findings if f.check not in policy.INFORMATIONAL]
    codes = tuple(sorted({int(f.code) for f in found}))
    nan = float("nan")
    measured = tuple((f.check, int(f.code), nan if f.value is None else float(f.value),
                      nan if f.limit is None else float(f.limit)) for f in found)
    shown = no_face_code(kind) if a.face is None else policy.pick(a.findings)
    return Judged(name, True, a.face is not None, codes, int(shown), measured, header(raw))


def _judge_path(kind: ImageKind, item: tuple[str, str]) -> Judged:
    path, name = item
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return Judged(name, False, False, (), -1)
    return judge(pool.matcher(), raw, kind, name)


def judge_folder(paths: list[Path], root: Path, settings: Settings, kind: ImageKind, workers: int | None = None,
                 progress: Callable[[int], None] | None = None) -> list[Judged]:
    """Every image through the service's pipeline, one process per core (``workers``), in ``paths``' order;
    names relative to ``root``."""
    items = [(str(p), str(p.relative_to(root))) for p in paths]
    return pool.run(partial(_judge_path, kind), items, settings, workers=workers, progress=progress,
                    matcher_options={})


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of ``k`` of ``n`` (95 % by default); (0, 1) when ``n`` is 0."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(k, n)
    return {"count": k, "of": n, "rate": round(k / n, 4) if n else None, "ci95": [round(lo, 4), round(hi, 4)]}


def expected(text: str) -> str:
    """``genuine`` or a warning code (1-12), as ``--expect`` takes it; ValueError otherwise."""
    if text != GENUINE and (not text.isdigit() or int(text) not in {int(c) for c in InvalidCode} - {0}):
        raise ValueError(f"expect must be '{GENUINE}' or a warning code, not {text!r}")
    return text if text == GENUINE else str(int(text))


def summarise(items: list[Judged], kind: ImageKind, expect: str = GENUINE, command: str = "",
              settings: Settings | None = None) -> dict[str, Any]:
    """Per code, how many images raised it and showed it, over the images with a face found (a photo without
    one is errorCode 3 whatever else was found), with what they mean under ``expect``: ``genuine`` (every
    warning is a false alarm) or a code the images should raise (its recall; the others are reported as
    they are)."""
    expect = expected(expect)
    faces = [j for j in items if j.face]
    n = len(faces)
    codes = sorted({*CODES[kind], *(c for j in faces for c in j.codes)}, key=lambda c: (c not in CODES[kind], c))
    shown: dict[str, int] = {}
    for j in items:
        if j.readable:
            shown[str(j.shown)] = shown.get(str(j.shown), 0) + 1
    doc: dict[str, Any] = {
        "kind": str(kind), "expect": expect,
        "images": len(items), "unreadable": sum(not j.readable for j in items),
        "no_face": sum(j.readable and not j.face for j in items), "faces_found": n,
        "codes": {str(c): {"raised": _rate(sum(c in j.codes for j in faces), n),
                           "shown": _rate(sum(j.shown == c for j in faces), n)} for c in codes},
        "any_warning": _rate(sum(bool(j.codes) for j in faces), n),
        "invalid_code": dict(sorted(shown.items(), key=lambda kv: int(kv[0]))),
        # what the set is made of: a warning's rate on one set of photos does not carry to another
        "photos": _photos(items),
    }
    doc["checks"] = _checks(faces)
    if kind is ImageKind.CARD:
        doc["any_fraud_code"] = _rate(sum(any(c in CARD_FRAUD for c in j.codes) for j in faces), n)
    s = settings or Settings()
    doc["settings"] = {"detector": s.models.detector, "embedder": s.models.embedder,
                       "attack_detector": s.models.attack_detector,
                       "attack_model_on_cards": s.models.attack_model_on_cards,
                       "check_limits": dict(s.check_limits)}
    doc["command"] = command
    doc["date"] = datetime.date.today().isoformat()
    return doc


def _photos(items: list[Judged]) -> dict[str, Any]:
    """Formats, long sides, JPEG qualities and the colour spaces converted to sRGB (an iPhone's Display P3...),
    over the readable photos: what a set is made of, beside what it raised."""
    heads = [j.header for j in items if j.header is not None]

    def spread(values: list[int]) -> list[int] | None:
        v = sorted(values)
        return [v[0], v[len(v) // 10], v[len(v) // 2], v[(9 * len(v)) // 10], v[-1]] if v else None

    def counts(names: list[str]) -> dict[str, int]:
        return {n: names.count(n) for n in sorted(set(names))}

    return {"formats": counts([h.format for h in heads]),
            "long_side_px": spread([max(h.width, h.height) for h in heads]),
            "jpeg_quality": spread([h.jpeg_quality for h in heads if h.jpeg_quality is not None]),
            "colour_converted": counts([h.colour for h in heads if h.colour])}


def _checks(faces: list[Judged]) -> dict[str, Any]:
    """Per check that fired: its code, how many images, its limit and the values they measured (min, median,
    max): how far past the limit they lie (docs/checks.md names each check's limit setting)."""
    by: dict[str, list[tuple[int, float, float]]] = {}
    for j in faces:
        for check, code, value, limit in j.measured:
            by.setdefault(check, []).append((code, value, limit))
    out: dict[str, Any] = {}
    for check, rows in sorted(by.items()):
        values = sorted(v for _, v, _ in rows if not math.isnan(v))
        limits = {round(lim, 6) for _, _, lim in rows if not math.isnan(lim)}
        out[check] = {"code": rows[0][0], "images": len(rows),
                      "limit": limits.pop() if len(limits) == 1 else sorted(limits) or None,
                      "values": [round(values[0], 4), round(values[len(values) // 2], 4), round(values[-1], 4)]
                      if values else None}
    return out


def report(doc: dict[str, Any]) -> str:
    """The summary as a Markdown table."""
    genuine = doc["expect"] == GENUINE
    head = "false alarms" if genuine else "found"
    lines = [f"{doc['images']} images sent as {doc['kind']}: {doc['faces_found']} with a face found, "
             f"{doc['no_face']} without (errorCode 3), {doc['unreadable']} unreadable (errorCode 1). "
             f"Rates over the faces found, with 95 % intervals.", "",
             f"| code | raised ({head if genuine else 'in warnings'}) | shown as invalidCode |", "|---|---|---|"]

    def cell(r: dict[str, Any]) -> str:
        if not r["of"]:
            return "-"
        lo, hi = r["ci95"]
        return f"{r['count']}/{r['of']} ({100 * r['rate']:.1f} %, {100 * lo:.1f}-{100 * hi:.1f} %)"

    for code, r in doc["codes"].items():
        mark = "" if genuine or code != doc["expect"] else " (expected)"
        lines.append(f"| {code}{mark} | {cell(r['raised'])} | {cell(r['shown'])} |")
    lines.append(f"| any | {cell(doc['any_warning'])} | |")
    if "any_fraud_code" in doc:
        lines.append(f"| 1, 2, 3 or 10 | {cell(doc['any_fraud_code'])} | |")
    photos = doc.get("photos") or {}
    if photos.get("formats"):
        def five(v: list[int] | None) -> str:
            return "-" if not v else f"{v[0]}, {v[1]}, {v[2]}, {v[3]}, {v[4]}"

        spaces = ", ".join(f"{n} {k}" for n, k in photos["colour_converted"].items()) or "none"
        lines += ["", f"Photos: {', '.join(f'{n} {k}' for n, k in photos['formats'].items())}; long side px "
                      f"(min, 10 %, median, 90 %, max) {five(photos['long_side_px'])}; JPEG quality "
                      f"{five(photos['jpeg_quality'])}; converted to sRGB from {spaces}."]
    if doc.get("checks"):
        lines += ["", "| check | code | images | limit | measured: min, median, max |", "|---|---|---|---|---|"]
        for check, c in doc["checks"].items():
            values = ", ".join(f"{v:g}" for v in c["values"]) if c["values"] else "-"
            lines.append(f"| {check} | {c['code']} | {c['images']} | {c['limit']} | {values} |")
    return "\n".join(lines)


def write_list(items: list[Judged], path: Path) -> None:
    """Which file raised what (names as given: they may carry personal data)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "readable", "face_found", "invalid_code", "codes", "format", "width", "height",
                    "jpeg_quality", "colour_space"])
        for j in items:
            h = j.header
            w.writerow([j.name, int(j.readable), int(j.face), "" if j.shown < 0 else j.shown,
                        " ".join(map(str, j.codes)), h.format if h else "", h.width if h else "",
                        h.height if h else "", (h.jpeg_quality or "") if h else "", (h.colour or "") if h else ""])
