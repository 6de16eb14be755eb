"""From scored candidates to lesions: outline the likeliest, merge the candidates that fall inside one, and describe
each outlined lesion for the lesion classifier (`classify.score_lesions`).

The candidate classifier sees a small patch at one scale; a vessel junction can look like a nodule there. The
outline sees the whole structure: how round it is, whether a vessel ran through the searched sphere, how many
separate detections it took in. Those are the lesion features.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from dualsign.analyzers.ct_nodule.detect import Candidate
from dualsign.analyzers.ct_nodule.grid import WORKERS
from dualsign.analyzers.ct_nodule.lungs import LungMasks
from dualsign.analyzers.ct_nodule.masses import Mass
from dualsign.analyzers.ct_nodule.read import CTVolume
from dualsign.analyzers.ct_nodule.segment import Segmentation, segment

MIN_DIAMETER_MM = 4.0
MAX_SEGMENTED = 40  # most likely candidates measured per exam (bounds the time per exam)
# Candidates down to this confidence are outlined, whatever the operating point: the lesion classifier learned from
# lesions formed so (a lesion formed from fewer candidates would take in fewer of them and read differently).
LESION_FLOOR = 0.02
LESION_FEATURES = (
    "candidate_logit", "candidates", "long_axis_mm", "short_axis_mm", "volume_mm3", "compactness", "extent_ratio",
    "mean_hu", "max_hu", "contrast_hu", "solid_fraction", "elongation", "border_fraction", "fill_ratio", "attached",
)


@dataclass
class Lesion:
    shape: Segmentation | Mass
    candidate_probability: float  # the likeliest candidate inside it (a mass: its rule score)
    candidates: int = 1  # detections merged into it
    probability: float = 0.0  # the lesion's confidence, set by the lesion classifier (or the candidate's)


def form_lesions(vol: CTVolume, lungs: LungMasks, masses: list[Mass], cands: list[Candidate], probs: np.ndarray,
                 threshold: float, counted: float | None = None) -> tuple[list[Lesion], int]:
    """Outline the candidates at or above `threshold` (the MAX_SEGMENTED likeliest), largest first, merging each
    candidate that falls inside a lesion already outlined; and the number of candidates at or above `counted`
    (default `threshold`) never outlined."""
    sp = np.array(vol.spacing)
    lesions = [Lesion(m, m.score) for m in masses]
    likely = [int(i) for i in np.argsort(-probs)[:MAX_SEGMENTED] if probs[i] >= threshold]
    level = threshold if counted is None else counted
    not_outlined = int(np.sum(probs >= level)) - sum(1 for i in likely if probs[i] >= level)
    # Largest first, so a nodule is measured from its own scale, not from a vessel-sized peak inside it.
    accepted = sorted(likely, key=lambda i: (-cands[i].radius_mm, -probs[i]))

    def known(center: np.ndarray) -> Lesion | None:
        """The lesion already outlined that `center` lies in, if any."""
        for les in lesions:
            s = les.shape
            reach = max(s.long_axis_mm, s.extent_mm if isinstance(s, Segmentation) else 0.0) / 2
            if np.linalg.norm((center - s.center_index) * sp) < max(reach, 3.0):
                return les
        return None

    def absorb(les: Lesion, p: float) -> None:
        # A lesion is as likely as the likeliest detection inside it: it is outlined from its coarsest candidate,
        # which often scores lower than the candidate at the lesion's own scale. A mass keeps its rule score.
        if not isinstance(les.shape, Mass):
            les.candidate_probability = max(les.candidate_probability, p)
            les.candidates += 1

    # Outlines do not depend on one another, only which are needed does: they are computed ahead on WORKERS threads
    # (scipy releases the GIL) and taken in order; one not needed (its centre fell in a lesion) is cancelled.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outlines = {i: pool.submit(segment, vol, cands[i].center_index, cands[i].radius_mm, lungs.closed,
                                   lungs.factor) for i in accepted}
        for i in accepted:
            c, p = cands[i], float(probs[i])
            les = known(c.center_index)
            if les is not None:
                outlines[i].cancel()
                absorb(les, p)
                continue
            seg = outlines[i].result()
            if not seg.ok or seg.long_axis_mm < MIN_DIAMETER_MM:
                continue
            les = known(seg.center_index)
            if les is not None:
                absorb(les, p)
                continue
            lesions.append(Lesion(seg, p))
    return lesions, not_outlined


def lesion_features(les: Lesion) -> np.ndarray:
    """The outline's description of an outlined (not mass-stage) lesion, in LESION_FEATURES order."""
    s = les.shape
    assert isinstance(s, Segmentation)
    p = float(np.clip(les.candidate_probability, 1e-6, 1 - 1e-6))
    # the outline's volume over the ellipsoid its axes span (a round lesion about 1, a branching vessel less)
    ellipsoid = np.pi / 6 * s.long_axis_mm * s.short_axis_mm ** 2
    return np.array([
        np.log(p / (1 - p)), les.candidates, s.long_axis_mm, s.short_axis_mm, s.volume_mm3,
        s.volume_mm3 / max(ellipsoid, 1e-3), s.extent_mm / max(s.long_axis_mm, 1e-3), s.mean_hu, s.max_hu,
        s.core_hu - s.lung_hu, s.solid_fraction, s.elongation, s.border_fraction, s.fill_ratio, float(s.attached),
    ], np.float32)
