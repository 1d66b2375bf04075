"""Presentation-attack detection figures as ISO/IEC 30107-3 defines them:
APCER per attack type (attacks not detected), BPCER (bona fide flagged), and
the DET curve's readings."""

from __future__ import annotations

import numpy as np


def rates(scores: np.ndarray, labels: np.ndarray, attacks: np.ndarray, limit: float) -> dict[str, object]:
    """APCER per attack type (attacks scored at or below ``limit``: not
    detected), BPCER (bona fide above it), with counts."""
    flagged = scores > limit
    bona = labels == 0
    out: dict[str, object] = {"limit": limit, "bona_fide": int(bona.sum()),
                              "bpcer": float(flagged[bona].mean()) if bona.any() else None,
                              "bona_fide_flagged": int(flagged[bona].sum())}
    for kind in ("replay", "print"):
        sel = attacks == kind
        if sel.any():
            out[f"apcer_{kind}"] = float((~flagged[sel]).mean())
            out[f"{kind}_attacks"] = int(sel.sum())
            out[f"{kind}_missed"] = int((~flagged[sel]).sum())
    return out


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(BPCER, APCER) over every threshold."""
    t = np.unique(scores)
    bpcer = np.array([(scores[labels == 0] > s).mean() for s in t])
    apcer = np.array([(scores[labels == 1] <= s).mean() for s in t])
    return bpcer, apcer


def bpcer_at_apcer(scores: np.ndarray, labels: np.ndarray, apcer: float) -> float:
    """The lowest BPCER over thresholds whose APCER is at most ``apcer`` (a curve reading, in-sample for the
    threshold)."""
    b, a = det_curve(scores, labels)
    ok = a <= apcer
    return float(b[ok].min()) if ok.any() else 1.0


def apcer_at_bpcer(scores: np.ndarray, labels: np.ndarray, bpcer: float) -> float:
    """The lowest APCER over thresholds whose BPCER is at most ``bpcer`` (a
    curve reading, in-sample for the threshold)."""
    b, a = det_curve(scores, labels)
    ok = b <= bpcer
    return float(a[ok].min()) if ok.any() else 1.0
