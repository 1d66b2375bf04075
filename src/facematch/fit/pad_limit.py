"""The presentation-attack limit picked on a deployment's own cameras
(``facematch pad-limit``).

The shipped limit (``FraudLimits.max_attack_score``) is picked on the
fitting data (``fit.pad.pick_limit``). The attack score's level moves from
one camera and screen to the next, so that limit misses most replays of a
camera it never saw, although the score still ranks that camera's replays
above its genuine captures (docs/presentation-attacks.md, "Leave one real
source out" and "A limit from your own cameras"). Where every portrait comes
from cameras a deployment controls (a branch kiosk, a counter webcam), the
limit can be picked on genuine captures from those cameras: the lowest limit
that flags at most ``bpcer`` of them (ISO/IEC 30107-3's BPCER at the
operating point). No attack sample is needed; with some, their APCER at
that limit is reported too.

Each image goes through the service's own pipeline (``Matcher.analyze``,
portrait kind, the configured models and check limits), so a face too small
to be judged (invalidCode 11) is left out as the service leaves it. Only the
summary is written: no image, file name, face, embedding or per-image score.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facematch.errors import FaceMatchError
from facematch.eval import workers as pool
from facematch.settings import Settings
from facematch.types import ImageKind

#: The limit is a quantile: at least this many genuine faces must lie above it (``min_faces``).
MIN_ABOVE = 5


@dataclass
class Scores:
    """The attack scores of the faces the service judges, and what happened to the other images."""

    images: int = 0
    unreadable: int = 0
    no_face: int = 0
    too_small: int = 0  # faces below invalidCode 11's size limit: the service does not judge them
    scores: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {"images": self.images, "unreadable": self.unreadable, "no_face": self.no_face,
                "too_small": self.too_small, "judged": len(self.scores)}


def limit_for(scores: np.ndarray, bpcer: float) -> float:
    """The lowest limit that flags (score above it) at most ``bpcer`` of ``scores``."""
    if not 0.0 < bpcer < 1.0:
        raise ValueError("bpcer must lie between 0 and 1")
    ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    return float(ordered[math.floor(bpcer * len(ordered) + 1e-9)])


def min_faces(bpcer: float) -> int:
    """Genuine faces needed for a limit at ``bpcer``: ``MIN_ABOVE`` of them above it."""
    return math.ceil(MIN_ABOVE / bpcer - 1e-9)


def flagged(scores: np.ndarray | list[float], limit: float) -> int:
    return int((np.asarray(scores, dtype=np.float64) > limit).sum())


def _score_one(path: str) -> tuple[str, float | None]:
    """("judged", score), or why there is none: "unreadable", "no_face", "too_small"."""
    try:
        a = pool.matcher().analyze(Path(path).read_bytes(), ImageKind.PORTRAIT, "img2")
    except (FaceMatchError, OSError):
        return "unreadable", None
    if a.face is None:
        return "no_face", None
    if any(f.check == "face_too_small" for f in a.findings):
        return "too_small", None
    if a.attack_score is None:
        raise ValueError("no presentation-attack model is configured (FACEMATCH_MODELS__ATTACK_DETECTOR)")
    return "judged", a.attack_score


def score_images(paths: list[Path], settings: Settings, workers: int | None = None,
                 progress: Callable[[int], None] | None = None) -> Scores:
    """Every image through the service's pipeline, one process per core (``workers``)."""
    out = Scores()
    for state, score in pool.run(_score_one, [str(p) for p in paths], settings, workers=workers, progress=progress,
                                 matcher_options={}):
        out.images += 1
        if state == "judged":
            assert score is not None
            out.scores.append(score)
        else:
            setattr(out, state, getattr(out, state) + 1)
    return out


def fit_limit(genuine: Scores, bpcer: float, current: float, attacks: Scores | None = None,
              command: str = "", model: str = "") -> dict[str, Any]:
    """The limit and what it does, on the genuine captures (and attacks, if given).

    The genuine faces are also split in two by file order (every other one):
    the limit picked on each half is read on the other, which shows how far
    the rate carries to captures the limit was not picked on."""
    n = len(genuine.scores)
    if n < min_faces(bpcer):
        raise ValueError(f"{n} genuine faces judged; a limit at BPCER {bpcer:.1%} needs at least "
                         f"{min_faces(bpcer)} (at least {MIN_ABOVE} above it)")
    s = np.asarray(genuine.scores, dtype=np.float64)
    limit = limit_for(s, bpcer)
    halves = (s[0::2], s[1::2])
    cross = [flagged(halves[1 - i], limit_for(h, bpcer)) / len(halves[1 - i])
             for i, h in enumerate(halves) if len(h) and len(halves[1 - i])]
    doc: dict[str, Any] = {
        "limit": round(limit, 6),
        "setting": f"FACEMATCH_CHECK_LIMITS='{{\"fraud.max_attack_score\": {limit:.6f}}}'",
        "bpcer_target": bpcer,
        "genuine": genuine.summary() | {
            "flagged_at_limit": flagged(s, limit), "flagged_at_current_limit": flagged(s, current),
            "bpcer_other_half": [round(c, 4) for c in cross]},
        "current_limit": current,
        "model": model,
        "command": command,
        "date": datetime.date.today().isoformat(),
        "note": "valid for the cameras and the capture set-up these genuine captures came from; a lower limit "
                "than the current one flags more genuine photos from other cameras",
    }
    if attacks is not None:
        a = np.asarray(attacks.scores, dtype=np.float64)
        doc["attacks"] = attacks.summary() | {
            "missed_at_limit": int(len(a) - flagged(a, limit)),
            "missed_at_current_limit": int(len(a) - flagged(a, current)),
            "apcer_at_limit": round(float((a <= limit).mean()), 4) if len(a) else None}
    return doc
