"""The chest-CT lung-nodule analyzer: series -> QC -> lungs -> candidates -> classifier -> 3-D measurement ->
Lung-RADS -> key images -> follow-up. The findings JSON is documented in docs/ct_nodule_findings_schema.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.base import (
    AnalysisResult,
    AnalyzerError,
    ExamContext,
    Finding,
    ModelCard,
    QualityVerdict,
    Urgency,
)
from dualsign.analyzers.ct_nodule import classify, qc
from dualsign.analyzers.ct_nodule.detect import find_candidates
from dualsign.analyzers.ct_nodule.followup import compare
from dualsign.analyzers.ct_nodule.keyimage import key_image
from dualsign.analyzers.ct_nodule.lesions import LESION_FLOOR, MAX_SEGMENTED, form_lesions
from dualsign.analyzers.ct_nodule.lungrads import NoduleForRads, exam_category, nodule_category
from dualsign.analyzers.ct_nodule.lungs import LungMasks, segment_lungs
from dualsign.analyzers.ct_nodule.masses import Mass, find_masses
from dualsign.analyzers.ct_nodule.model_card import model_card
from dualsign.analyzers.ct_nodule.read import CTVolume, looks_like_ct_file, read_ct
from dualsign.analyzers.ct_nodule.segment import Segmentation

SCHEMA_VERSION = "1"
DISCLAIMER = "AI preliminary report — not valid until signed by a physician"
MASS_MM = 30.0
REPORT_PROBABILITY = 0.5  # operating point; card.json records the figures measured at it
MAX_REPORTED = 20


def _not_listed_warning(listing: dict[str, int]) -> str:
    parts = []
    if listing["not_listed"]:
        parts.append(f"{listing['not_listed']} more findings above the operating point are not listed (the list "
                     f"stops at {listing['listed_at_most']}, likeliest first)")
    if listing["candidates_not_outlined"]:
        parts.append(f"{listing['candidates_not_outlined']} more candidates above the operating point were not "
                     f"outlined (at most {MAX_SEGMENTED} per exam)")
    return "; ".join(parts) + ": review the whole scan"


class CTNoduleAnalyzer:
    modality = "chest_ct"

    def __init__(self, report_probability: float = REPORT_PROBABILITY) -> None:
        self.card: ModelCard = model_card()
        # Evaluation lowers this to trace the whole FROC curve; the service reports at the card's operating point.
        self.report_probability = report_probability

    def can_read(self, path: Path) -> bool:
        return looks_like_ct_file(Path(path))

    def analyze(self, paths: Sequence[Path], context: ExamContext | None = None) -> AnalysisResult:
        if not paths:
            raise AnalyzerError("no input file given")
        vol = read_ct([Path(p) for p in paths])
        return self.analyze_volume(vol, context)

    # -------------------------------------------------------------------------------------------- pipeline
    def analyze_volume(self, vol: CTVolume, context: ExamContext | None = None) -> AnalysisResult:
        lungs = segment_lungs(vol)
        quality = qc.assess(vol, lungs)
        nodules: list[dict[str, Any]] = []
        attachments: dict[str, bytes] = {}
        listing = {"listed_at_most": MAX_REPORTED, "not_listed": 0, "candidates_not_outlined": 0}
        if quality.usable:
            nodules, listing["not_listed"], listing["candidates_not_outlined"] = self._detect(vol, lungs)
        raw = self._raw(vol, lungs, quality, nodules)
        raw["listing"] = listing
        if listing["not_listed"] or listing["candidates_not_outlined"]:
            raw["quality"]["warnings"].append(_not_listed_warning(listing))
        for n, f in zip(nodules, raw["findings"], strict=True):
            attachments[f["key_image"]] = n.pop("_png")
        if context is not None and context.prior_raw:
            raw["follow_up"] = compare(raw, context.prior_raw)
            for row in raw["follow_up"]["nodules"]:
                f = raw["findings"][row["finding"]]
                f["follow_up"] = {k: v for k, v in row.items() if k not in ("finding", "id")}
        raw["lung_rads"] = self._lung_rads(raw, quality)
        return self._result(raw, quality, attachments)

    def detect(self, vol: CTVolume, lungs: LungMasks) -> list[dict[str, Any]]:
        return self._detect(vol, lungs)[0]

    def _detect(self, vol: CTVolume, lungs: LungMasks) -> tuple[list[dict[str, Any]], int, int]:
        """The listed findings, the number of outlined lesions above the operating point left off the list (the
        MAX_REPORTED cap), and the number of candidates above it never outlined (the MAX_SEGMENTED bound)."""
        cands = find_candidates(vol, lungs)
        probs = classify.score_candidates(cands)
        lesions, not_outlined = form_lesions(vol, lungs, find_masses(vol, lungs), cands, probs,
                                             min(LESION_FLOOR, self.report_probability), self.report_probability)
        # The outline sees what the candidate's patch does not (a vessel running through, a branching shape): the
        # lesion classifier gives each outlined lesion its confidence, and a lesion it puts under the operating
        # point is not reported.
        classify.score_lesions(lesions)
        kept = [les for les in lesions if isinstance(les.shape, Mass) or les.probability >= self.report_probability]
        # Masses first: their score is a rule, not a probability comparable with the classifier's, and a mass
        # (> 30 mm, Lung-RADS 4B) must never be the one the MAX_REPORTED cap drops.
        kept.sort(key=lambda les: (not isinstance(les.shape, Mass), -les.probability, -les.shape.long_axis_mm))
        listed = [self._nodule(vol, lungs, les.shape, les.probability, k) for k, les in enumerate(kept[:MAX_REPORTED])]
        return listed, max(0, len(kept) - MAX_REPORTED), not_outlined

    @staticmethod
    def _where(vol: CTVolume, lungs: LungMasks, zyx: np.ndarray) -> tuple[str, str]:
        f = np.array(lungs.factor)
        cell = np.clip((zyx // f).astype(int), 0, np.array(lungs.label.shape) - 1)
        code = int(lungs.label[tuple(cell)])
        if code == 0:  # on the pleura or in a mass outside the aerated lung: nearest lung by side of midline
            xs = np.nonzero(lungs.label)[2]
            mid = float(np.median(xs)) if xs.size else lungs.label.shape[2] / 2
            code = 1 if (cell[2] < mid) == (vol.axes[0, 0] > 0) else 2
        side = "right" if code == 1 else "left"
        zs = np.nonzero((lungs.label == code).any(axis=(1, 2)))[0]
        if zs.size == 0:
            return side, "unknown"
        # Slice index grows towards the head when the slice axis points superior (+z in LPS).
        frac = (cell[0] - zs.min()) / max(1, zs.max() - zs.min())
        if vol.axes[2, 2] < 0:
            frac = 1 - frac
        zone = "lower" if frac < 1 / 3 else ("middle" if frac < 2 / 3 else "upper")
        return side, zone

    def _nodule(self, vol: CTVolume, lungs: LungMasks, s: Segmentation | Mass, p: float, i: int) -> dict[str, Any]:
        center_mm = vol.index_to_lps(s.center_index)
        side, zone = self._where(vol, lungs, s.center_index)
        kind = "mass" if s.long_axis_mm > MASS_MM else "nodule"
        mean_d = round((s.long_axis_mm + s.short_axis_mm) / 2, 1)
        z = int(np.clip(s.axial_slice_index, 0, vol.shape[0] - 1))
        name = f"nodule_{i + 1:02d}_slice{z:04d}.png"
        density_word = {"solid": "Solid", "part-solid": "Part-solid", "ground-glass": "Ground-glass",
                        "calcified": "Calcified"}[s.density]
        label = f"{density_word} {kind} {s.long_axis_mm:.1f} mm, {side} {zone} zone"
        radius_px = s.long_axis_mm / 2 / vol.spacing[2]
        png = key_image(vol.hu[z], (float(s.center_index[1]), float(s.center_index[2])), radius_px,
                        f"{i + 1}: {label}")
        return {
            "id": f"N{i + 1}",
            "kind": kind,
            "label": label,
            "center_mm": [round(float(v), 1) for v in center_mm],
            "center_voxel": [int(round(float(v))) for v in s.center_index],
            "slice_index": z,
            "diameter_mm": round(s.long_axis_mm, 1),
            "long_axis_mm": round(s.long_axis_mm, 1),
            "short_axis_mm": round(s.short_axis_mm, 1),
            "mean_diameter_mm": mean_d,
            "volume_mm3": round(s.volume_mm3, 1),
            "mean_hu": round(s.mean_hu, 0),
            "max_hu": round(s.max_hu, 0),
            "density": s.density,
            "solid_part_mm": round(s.solid_part_mm if isinstance(s, Segmentation) else s.long_axis_mm, 1),
            "confidence": round(p, 4),
            "lung": side,
            "zone": zone,
            "key_image": name,
            "lung_rads": nodule_category(NoduleForRads(s.density, mean_d, s.long_axis_mm if isinstance(s, Mass)
                                                       else s.solid_part_mm), False),
            "source": "mass-stage" if isinstance(s, Mass) else "candidate-classifier",
            "_png": png,
        }

    # -------------------------------------------------------------------------------------------- output
    def _raw(self, vol: CTVolume, lungs: LungMasks, quality: qc.QualityReport, nodules: list[dict[str, Any]]
             ) -> dict[str, Any]:
        pts = np.argwhere(lungs.label > 0)
        centroid = None
        if len(pts):
            cz, cy, cx = (pts.mean(0) + 0.5) * np.array(lungs.factor) - 0.5
            centroid = [round(float(v), 1) for v in vol.index_to_lps((cz, cy, cx))]
        return {
            "schema_version": SCHEMA_VERSION,
            "modality": "chest_ct",
            "study_date": vol.meta.get("study_date") or None,
            "series": {
                "source": vol.source,
                "series_instance_uid": vol.meta.get("series_instance_uid"),
                "description": vol.meta.get("series_description"),
                "kernel": vol.meta.get("kernel"),
                "shape_zyx": list(vol.shape),
                "spacing_mm_zyx": [round(float(v), 4) for v in vol.spacing],
                "origin_mm": [round(float(v), 2) for v in vol.origin],
                "notes": list(vol.notes),
            },
            "quality": {
                "usable": quality.usable,
                "meets_screening_standard": quality.meets_screening_standard,
                "reasons": quality.reasons,
                "warnings": list(quality.warnings),  # the listing may add one
                "slice_thickness_mm": quality.slice_thickness_mm,
                **quality.details,
            },
            "lungs": {"volumes_ml": lungs.volumes_ml, "centroid_mm": centroid, "notes": lungs.notes},
            "findings": [{k: v for k, v in n.items() if k != "_png"} for n in nodules],
            "models": {"candidate_classifier": classify.source(), "lesion_classifier": classify.lesion_source()},
            "model_card": self.card.to_dict(),
        }

    @staticmethod
    def _lung_rads(raw: dict[str, Any], quality: qc.QualityReport) -> dict[str, Any]:
        with_prior = "follow_up" in raw
        rads = []
        for f in raw["findings"]:
            fu = f.get("follow_up", {})
            rads.append(NoduleForRads(f["density"], f["mean_diameter_mm"], f["solid_part_mm"],
                                      new=fu.get("status") == "new", growing=fu.get("status") == "growing"))
            if with_prior:
                f["lung_rads"] = nodule_category(rads[-1], True)
        return exam_category(rads, with_prior, complete=quality.usable)

    def _result(self, raw: dict[str, Any], quality: qc.QualityReport, attachments: dict[str, bytes]
                ) -> AnalysisResult:
        rads = raw["lung_rads"]
        fs = raw["findings"]
        if not quality.usable:
            summary = "Chest CT not readable for lung nodules: " + "; ".join(quality.reasons)
        else:
            head = "; ".join(f["label"] for f in fs[:3]) or "no nodule >= 4 mm"
            more = f" (+{len(fs) - 3} more)" if len(fs) > 3 else ""
            std = "" if quality.meets_screening_standard else " [below screening standard]"
            listing = raw.get("listing", {})
            unlisted = listing.get("not_listed", 0) + listing.get("candidates_not_outlined", 0)
            cut = f" [list incomplete: {_not_listed_warning(listing)}]" if unlisted else ""
            summary = f"Chest CT: Lung-RADS {rads['category']}; {head}{more}{std}{cut}"
        raw["summary"] = summary
        urgency = Urgency.URGENT if rads["category"] in ("4B", "4X") else Urgency.ROUTINE
        raw["urgency"] = urgency.value
        findings = [
            Finding(
                kind=f["kind"],
                label=f["label"],
                location={
                    "center_mm": f["center_mm"],
                    "center_voxel": f["center_voxel"],
                    "slice": f["slice_index"],
                    "lung": f["lung"],
                    "zone": f["zone"],
                    "key_image": f["key_image"],
                },
                measurements={
                    "long_axis_mm": f["long_axis_mm"],
                    "short_axis_mm": f["short_axis_mm"],
                    "mean_diameter_mm": f["mean_diameter_mm"],
                    "volume_mm3": f["volume_mm3"],
                    "mean_hu": f["mean_hu"],
                    "max_hu": f["max_hu"],
                    "solid_part_mm": f["solid_part_mm"],
                    "density": f["density"],
                    "lung_rads": f["lung_rads"],
                    **({"follow_up": f["follow_up"]} if "follow_up" in f else {}),
                },
                confidence=f["confidence"],
            )
            for f in fs
        ]
        if not quality.usable or not quality.meets_screening_standard:
            findings.append(Finding(kind="quality", label="Exam quality: " + "; ".join(quality.reasons),
                                    measurements={"reasons": quality.reasons}))
        report = {
            "title": "Chest CT lung-nodule screening — AI preliminary report",
            "quality": {
                "usable": quality.usable,
                "meets_screening_standard": quality.meets_screening_standard,
                "statement": "meets screening standards" if quality.meets_screening_standard
                else "does not meet screening standards",
                "reasons": quality.reasons,
                "slice_thickness_mm": quality.slice_thickness_mm,
            },
            "lung_volumes_ml": raw["lungs"]["volumes_ml"],
            "nodules": [
                {k: f[k] for k in ("id", "kind", "density", "lung", "zone", "long_axis_mm", "short_axis_mm",
                                   "mean_diameter_mm", "volume_mm3", "solid_part_mm", "mean_hu", "confidence",
                                   "lung_rads", "key_image")}
                for f in fs
            ],
            "lung_rads": rads,
            "listing": raw.get("listing"),
            "follow_up": raw.get("follow_up"),
            "impression": summary,
            "urgency": urgency.value,
            "disclaimer": DISCLAIMER,
        }
        verdict = QualityVerdict(quality.usable, list(quality.reasons),
                                 {"meets_screening_standard": quality.meets_screening_standard,
                                  "warnings": raw["quality"]["warnings"]})
        return AnalysisResult(verdict, findings, summary, urgency, report, raw, attachments)
