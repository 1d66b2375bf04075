"""Every warning on real photos, one table a warning: data set, images,
faces found, recall on the images that should raise it, false alarms on those
that should not. The tables of docs/checks.md ("Per warning, on real
photos") are this module's output.

    .venv/bin/python -m benchmarks.warnings --data ../shared/data [--write-docs]

Three parts, each through the real pipeline with the shipped settings:

- the card side (``type1=card``): codes 1, 2, 3, 10 on the sets of
  ``benchmarks/card_photos.py`` (bona fide mock ID photos, scans, specimens
  and SIDTD templates; greyscale copies; FantasyID and SIDTD tampering; screen
  recaptures rendered from the mock photos; selfies sent as a card);
- the portrait side (``type2=portrait``): codes 7, 8, 9 and "any warning" on
  the attribute sets, Yale and clean faces (``benchmarks/selfie_checks.py``
  where that module is present);
- presentation attacks on portraits (code 10): each real attack source
  (``tools/pad_data.py``) and the bona fide sets, scored by the shipped model
  at its shipped limit, and analysed by the pipeline as a portrait (the
  pixels as the model read them): "code 10 through the service" counts
  the images with any code-10 finding, the model's, ``blur`` or ``noise``,
  which is what a client sees;
- the pair (code 10 ``same_photo``): real pairs of one printed portrait
  captured twice and genuine pairs of different photos
  (``benchmarks/same_photo.py: rows``), at the shipped limit.

Card rows also count, per set, the images whose response would carry the
code as ``invalidCode`` ("as invalidCode": no face found on the card is
invalidCode 4; several findings show the most severe).
Rows of a set the method was fitted or tuned on are marked "in-sample".
Writes ``benchmarks/results/warnings.json``; ``--write-docs`` also rewrites
the block between the markers in docs/checks.md (``--from-results`` renders
the committed result file without measuring).
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path
from typing import Any

from benchmarks.machine import REPO, write_result

OUT = REPO / "benchmarks" / "results" / "warnings.json"
DOC = REPO / "docs" / "checks.md"
BEGIN = "<!-- warnings:begin (python -m benchmarks.warnings --write-docs) -->"
END = "<!-- warnings:end -->"

#: Card-side sets (``card_photos.sets``): which codes each set should raise (recall) or not (false alarm).
CARD_ROLES: dict[str, dict[str, str]] = {
    "bona fide: mock ID photos": {"1": "false alarm", "2": "false alarm", "3": "false alarm", "10": "false alarm"},
    "bona fide: mock ID scans": {"1": "false alarm", "2": "false alarm", "3": "false alarm", "10": "false alarm"},
    "bona fide: specimens": {"1": "false alarm", "3": "false alarm", "10": "false alarm"},
    "bona fide: SIDTD templates": {"1": "false alarm", "2": "false alarm", "3": "false alarm", "10": "false alarm"},
    "bona fide: mock ID photos and scans turned a quarter (both ways)": {
        "1": "false alarm", "2": "false alarm", "3": "false alarm", "10": "false alarm"},
    "photocopy: card_recapture": {"2": "recall"},
    "tampered: FantasyID + SIDTD": {"3": "recall"},
    "screen recapture (rendered from the mock photos and scans)": {"10": "recall"},
    "no document: selfies sent as card (clean_face)": {"1": "recall"},
}
#: Card-side sets a limit was chosen on (docs/checks.md says which): their rows are in-sample.
CARD_IN_SAMPLE = {("2", "bona fide: mock ID photos"), ("2", "bona fide: mock ID scans"),
                  ("2", "bona fide: SIDTD templates"), ("2", "photocopy: card_recapture"),
                  ("1", "bona fide: mock ID photos"),
                  # turned copies of those photos: the same limits' sets
                  ("1", "bona fide: mock ID photos and scans turned a quarter (both ways)"),
                  ("2", "bona fide: mock ID photos and scans turned a quarter (both ways)")}
WARNING_NAMES = {"1": "1 no ID card", "2": "2 photocopy", "3": "3 tampering", "10": "10 recapture / presentation attack",
                 "same": "10 same photo (`same_photo`)", "7": "7 sunglasses", "8": "8 hat", "9": "9 mask",
                 "any": "any warning"}


def card_side(data: Path) -> list[dict[str, Any]]:
    from benchmarks import card_photos
    from facematch.matcher import build_matcher
    from facematch.settings import Settings

    images = card_photos.sets(data)
    m = build_matcher(Settings(), pool_size=1, parallel=False)
    try:
        counted = {name: card_photos.count(m, imgs) for name, imgs in images.items() if name in CARD_ROLES}
    finally:
        m.close()
    rows = []
    for name, r in counted.items():
        for code, role in CARD_ROLES[name].items():
            rows.append({"side": "card", "warning": code, "set": name, "images": r["images"],
                         "faces": r["face_found"], "flagged": r["code"].get(code, 0), "role": role,
                         "in_sample": (code, name) in CARD_IN_SAMPLE, "reported": r["reported"].get(code, 0)})
    return rows


def portrait_attacks(data: Path) -> list[dict[str, Any]]:
    import numpy as np

    from facematch.checks.fraud import FraudLimits
    from facematch.matcher import build_matcher
    from facematch.models.pad import RecaptureDetector
    from facematch.settings import Settings
    from tools import pad_data
    from tools.fit_pad import REAL

    det = RecaptureDetector.load()
    limit = FraudLimits().max_attack_score  # what the service compares the score with
    matcher = build_matcher(Settings(), pool_size=1, parallel=False)
    sets = pad_data.sets(data)
    cache = pad_data.FeatureCache()
    rows = []
    fitted_on = {*REAL, "casia_fit", "lfw_fit"}  # the shipped model's fitting data (its provenance)
    names = ("replay_a", "replay_b", "replay_c", "replay_d", "nuaa_print", "clean_face", "casia_test", "yale",
             "clean_face_jpeg", "casia_test_jpeg")
    shown = {"clean_face_jpeg": "clean_face saved as JPEG at 60 and 40",
             "casia_test_jpeg": "casia_test saved as JPEG at 75, 60 and 40"}  # tools/pad_data.py: recompressed_twins
    for name in names:
        items = sets.get(name)
        if not items:
            continue
        x, y, _ = pad_data.matrix(cache, items)
        faces = np.array([cache.get(it)[0] is not None for it in items])
        flagged = np.array([1.0 / (1.0 + np.exp(-det.logit(row))) > limit for row in x])
        served = [code_10(matcher, pad_data.image(it)) for it in items]
        for label, role in ((0, "false alarm"), (1, "recall")):
            sel = y == label
            if sel.any():
                checks = [c for c, s in zip(served, sel, strict=True) if s]
                rows.append({"side": "portrait", "warning": "10", "set": f"{shown.get(name, name)} ({'attacks' if label else 'bona fide'})",
                             "images": int(sel.sum()), "faces": int(faces[sel].sum()),
                             "flagged": int(flagged[sel].sum()), "role": role, "in_sample": name in fitted_on,
                             "reported": sum(bool(c) for c in checks),
                             "by_check": {k: sum(k in c for c in checks) for k in CODE_10_CHECKS}})
    cache.save()
    matcher.close()
    return rows


#: The portrait findings that are invalidCode 10 (``same_photo`` is the pair's, measured on its own).
CODE_10_CHECKS = ("presentation_attack", "blur", "noise")


def code_10(matcher: Any, rgb: Any) -> set[str]:
    """The code-10 findings of ``rgb`` (the pixels the model read) analysed as a portrait."""
    from facematch.types import ImageKind

    a = matcher.analyze_image(rgb, ImageKind.PORTRAIT, "img2")
    return {f.check for f in a.findings if f.check in CODE_10_CHECKS}


def portrait_attributes(data: Path) -> list[dict[str, Any]]:
    """Codes 7, 8, 9 and any warning from ``benchmarks.selfie_checks.rows(data)`` where that module exists."""
    try:
        selfie = importlib.import_module("benchmarks.selfie_checks")
    except ModuleNotFoundError:
        return []
    rows: list[dict[str, Any]] = selfie.rows(data)
    return rows


def measure(data: Path) -> dict[str, Any]:
    from benchmarks import same_photo

    rows = card_side(data) + portrait_attacks(data) + same_photo.rows(data) + portrait_attributes(data)
    return {"rows": rows}


def _rate(k: int, n: int) -> str:
    return "—" if n == 0 else f"{k}/{n} ({100 * k / n:.1f} %)"


def render(result: dict[str, Any]) -> str:
    """One Markdown table a warning, from ``result["rows"]``."""
    order = ["1", "2", "3", "10", "same", "7", "8", "9", "any"]
    out = []
    for code in order:
        for side in ("card", "portrait", "pair"):
            rows = [r for r in result["rows"] if r["warning"] == code and r["side"] == side]
            if not rows:
                continue
            # card rows: also what invalidCode says; portrait code-10 rows: any code-10 finding of the service
            shown = all("reported" in r for r in rows)
            column = "as invalidCode" if side == "card" else "code 10 through the service (model, blur or noise)"
            what = {"card": "card photos (type1=card)", "portrait": "portraits",
                    "pair": "image pairs (images: pairs; faces found: pairs with both faces)"}[side]
            out += [f"**{WARNING_NAMES[code]}**, {what}:", "",
                    "| data set | images | faces found | recall | false alarms |" + (f" {column} |" if shown else ""),
                    "|---|---:|---:|---:|---:|" + ("---:|" if shown else "")]
            for r in rows:
                base = r["faces"] if r.get("over_faces") else r["images"]
                rate = _rate(r["flagged"], base) + (" of faces" if r.get("over_faces") else "")
                rec, fa = (rate, "") if r["role"] == "recall" else ("", rate)
                name = r["set"] + (" *(in-sample)*" if r["in_sample"] else "")
                out.append(f"| {name} | {r['images']} | {r['faces']} | {rec} | {fa} |"
                           + (f" {_rate(r['reported'], r['images'])} |" if shown else ""))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def doc_block(doc_text: str) -> str:
    """The rendered block currently in docs/checks.md (between the markers)."""
    return doc_text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def write_docs(result: dict[str, Any], doc: Path = DOC) -> None:
    text = doc.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n\n{render(result)}\n{END}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--write-docs", action="store_true", help="rewrite the tables in docs/checks.md")
    ap.add_argument("--from-results", action="store_true", help="render --out without measuring")
    args = ap.parse_args()
    if args.from_results:
        result = json.loads(args.out.read_text())
    else:
        if not (args.data / "documents").exists():
            print(f"{args.data} holds no documents/: this benchmark needs ../shared/data")
            return
        result = measure(args.data)
        write_result(args.out, result)
    print(render(result))
    if args.write_docs:
        write_docs(result)
        print(f"rewrote the tables in {DOC}")


if __name__ == "__main__":
    main()
