"""The fundus analyzer: read -> canonical view -> photo QC -> segmenter -> disc/fovea -> field QC ->
lesion boxes -> referable probability -> ICDR grade, DME suspicion -> findings JSON.

The findings JSON (`AnalysisResult.raw`) is documented in docs/fundus_findings_schema.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dualsign.analyzers.base import (
    AnalysisResult,
    AnalyzerError,
    ExamContext,
    Finding,
    ModelCard,
    QualityVerdict,
    Urgency,
)
from dualsign.analyzers.fundus import model_card as mc
from dualsign.analyzers.fundus import qc
from dualsign.analyzers.fundus.grade import DecisionModel, features, icdr_grade, severe_haemorrhage_quadrants
from dualsign.analyzers.fundus.lesions import Landmarks, Lesion, dme_suspected, landmarks, lesions
from dualsign.analyzers.fundus.normalise import Canonical, normalise
from dualsign.analyzers.fundus.overlay import overlay_png
from dualsign.analyzers.fundus.read import FundusImage, is_photo_dicom, read_fundus, sniff_format
from dualsign.analyzers.fundus.segment import LESION_TYPES, Segmenter

VERSION = "0.1.0"
SCHEMA_VERSION = "1"
DISCLAIMER = "AI preliminary report — not valid until signed by a physician"
GRADE_NAMES = {
    0: "no apparent retinopathy",
    1: "mild NPDR",
    2: "moderate NPDR",
    3: "severe NPDR",
    4: "proliferative DR",
}
LESION_LABELS = {
    "microaneurysm": "Microaneurysms",
    "haemorrhage": "Haemorrhages",
    "hard_exudate": "Hard exudates",
    "soft_exudate": "Soft exudates (cotton-wool spots)",
}
SCT_DIABETIC_RETINOPATHY = "SCT:4855003"
SCT_DIABETIC_MACULAR_OEDEMA = "SCT:312912001"


def _card(card: dict[str, Any] | None, verified: bool) -> ModelCard:
    return ModelCard(
        name="dualsign-fundus",
        version=VERSION,
        modality="fundus",
        intended_use=(
            "Screening colour fundus photographs (45-degree, posterior pole) of people with diabetes for "
            "referable diabetic retinopathy, with lesion marks, for review and signature by a licensed physician; "
            "not for unsupervised diagnosis."
        ),
        training_data=mc.training_data(card) if card else "weights missing: this installation cannot grade",
        accuracy=mc.accuracy(card) if card and verified else {"see": "BENCHMARKS.md (weights missing or altered)"},
        weights_sha256=(card or {}).get("weights_sha256", {}).get(mc.SEGMENTER, "") if verified else "",
        limitations=str((card or {}).get("limitations", "")),
    )


def _xy(can: Canonical, uv: tuple[float, float]) -> list[float]:
    x, y = can.to_original(uv[0], uv[1])
    return [round(float(x), 1), round(float(y), 1)]


class FundusAnalyzer:
    modality = "fundus"

    def __init__(self) -> None:
        card = mc.load_card()
        ok = mc.verified(card)
        self.card = _card(card, ok)
        self._segmenter: Segmenter | None = None
        self._decision: DecisionModel | None = None
        if ok and card is not None:
            self._segmenter = Segmenter(mc.WEIGHTS_DIR / mc.SEGMENTER)
            self._decision = DecisionModel.from_card(card["decision_model"])

    # ---------------------------------------------------------------------------------------- protocol
    def can_read(self, path: Path) -> bool:
        path = Path(path)
        fmt = sniff_format(path)
        if fmt == "dicom":
            target = path if path.is_file() else next((p for p in sorted(path.iterdir()) if p.is_file()), path)
            return is_photo_dicom(target)
        return fmt is not None

    def analyze(self, paths: Sequence[Path], context: ExamContext | None = None) -> AnalysisResult:
        if not paths:
            raise AnalyzerError("no input file given")
        readable = [Path(p) for p in paths if sniff_format(Path(p)) is not None]
        image = read_fundus(readable[0] if readable else Path(paths[0]))
        return self.analyze_image(image, context)

    # ---------------------------------------------------------------------------------------- pipeline
    def analyze_image(self, image: FundusImage, context: ExamContext | None = None) -> AnalysisResult:
        if self._segmenter is None or self._decision is None:
            raise AnalyzerError("fundus model weights are missing or do not match card.json: cannot grade")
        can = normalise(image.rgb, image.pixel_scale)
        photo = qc.assess_photo(can)
        laterality, lat_source, lat_warning = _laterality(image, context)
        base: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "path": image.path,
            "format": image.source_format,
            "image_size": list(image.original_size),
            "laterality": laterality,
            "laterality_source": lat_source,
        }
        if not photo.gradable:
            return self._ungradable(image, base, photo, photo.reasons, lat_warning)
        probs = self._segmenter.probabilities(can.contrast)
        marks = landmarks(probs, can)
        if laterality is None and marks.disc_uv is not None:
            # Disc right of centre in a macula-centred photo = right eye, by the usual viewing convention.
            laterality, lat_source = ("R" if marks.disc_uv[0] > (can.field.shape[1] - 1) / 2 else "L"), "image"
            base.update(laterality=laterality, laterality_source=lat_source)
        field_problems = qc.field_reasons(marks.disc_uv is not None, marks.fovea_uv is not None)
        if field_problems:
            return self._ungradable(image, base, photo, field_problems, lat_warning)
        found = lesions(probs, can)
        p_ref = self._decision.probability(features(probs, can.field))
        dme, nearest_dd = dme_suspected(found, marks)
        types_found = {les.type for les in found}
        grade, grade_probs = icdr_grade(
            p_ref, self._decision.threshold, types_found, severe_haemorrhage_quadrants(probs, can.field)
        )
        dr_referable = p_ref >= self._decision.threshold
        referable = dr_referable or dme
        raw = dict(base)
        raw.update(
            quality=_quality(True, True, [], photo.metrics, lat_warning),
            grade=grade,
            grade_name=GRADE_NAMES[grade],
            grade_probabilities=grade_probs,
            referable=referable,
            referable_probability=round(p_ref, 4),
            referable_threshold=round(self._decision.threshold, 4),
            referable_reasons=(["moderate NPDR or worse"] if dr_referable else [])
            + (["suspected diabetic macular oedema"] if dme else []),
            dme_suspected=dme,
            nearest_hard_exudate_to_fovea_dd=nearest_dd,
            optic_disc=_disc(can, marks),
            fovea=None if marks.fovea_uv is None else {"centre_xy": _xy(can, marks.fovea_uv)},
            lesions=[_lesion(can, les) for les in found],
            lesion_counts={name: sum(1 for les in found if les.type == name) for name in LESION_TYPES.values()},
        )
        urgency = Urgency.URGENT if referable else Urgency.ROUTINE
        summary = _summary(raw)
        raw.update(urgency=urgency.value, summary=summary, model_card=self.card.to_dict())
        findings = _lesion_findings(raw) + [_grade_finding(raw)]
        if dme:
            findings.append(
                Finding(
                    kind="dme",
                    label="Suspected diabetic macular oedema (hard exudates within 1 disc diameter of the fovea)",
                    code=SCT_DIABETIC_MACULAR_OEDEMA,
                    location={"fovea_xy": raw["fovea"]["centre_xy"]},
                    measurements={"nearest_hard_exudate_dd": nearest_dd},
                )
            )
        report = _report(raw)
        attachments = {"fundus_overlay.png": overlay_png(image.rgb, raw)}
        verdict = QualityVerdict(True, [], {"metrics": photo.metrics, "warnings": raw["quality"]["warnings"]})
        return AnalysisResult(verdict, findings, summary, urgency, report, raw, attachments)

    def _ungradable(
        self,
        image: FundusImage,
        base: dict[str, Any],
        photo: qc.PhotoQuality,
        reasons: list[str],
        lat_warning: str | None,
    ) -> AnalysisResult:
        raw = dict(base)
        raw.update(
            quality=_quality(photo.is_fundus, False, reasons, photo.metrics, lat_warning),
            grade=None,
            grade_name=None,
            grade_probabilities=None,
            referable=None,
            referable_probability=None,
            referable_threshold=round(self._decision.threshold, 4) if self._decision else None,
            referable_reasons=[],
            dme_suspected=None,
            nearest_hard_exudate_to_fovea_dd=None,
            optic_disc=None,
            fovea=None,
            lesions=[],
            lesion_counts={},
        )
        head = "Not a colour fundus photograph" if not photo.is_fundus else "Fundus photo ungradable"
        summary = f"{head}: {'; '.join(reasons)}"
        raw.update(urgency=Urgency.ROUTINE.value, summary=summary, model_card=self.card.to_dict())
        finding = Finding(kind="quality", label=summary, measurements={"reasons": reasons, **photo.metrics})
        verdict = QualityVerdict(False, list(reasons), {"metrics": photo.metrics, "is_fundus": photo.is_fundus})
        return AnalysisResult(verdict, [finding], summary, Urgency.ROUTINE, _report(raw), raw)


def _laterality(image: FundusImage, context: ExamContext | None) -> tuple[str | None, str | None, str | None]:
    asked = (context.laterality or "").upper() if context else ""
    asked = asked if asked in ("R", "L") else ""
    if image.laterality:
        warning = None
        if asked and asked != image.laterality:
            warning = f"request says eye {asked}, the DICOM file says {image.laterality}: the file is used"
        return image.laterality, "dicom", warning
    if asked:
        return asked, "request", None
    return None, None, None


def _quality(
    is_fundus: bool, gradable: bool, reasons: list[str], metrics: dict[str, float], warning: str | None
) -> dict[str, Any]:
    return {
        "is_fundus_photo": is_fundus,
        "gradable": gradable,
        "reasons": list(reasons),
        "warnings": [warning] if warning else [],
        "metrics": metrics,
    }


def _disc(can: Canonical, marks: Landmarks) -> dict[str, Any] | None:
    if marks.disc_uv is None or marks.disc_diameter_canvas is None:
        return None
    return {
        "centre_xy": _xy(can, marks.disc_uv),
        "diameter_px": round(marks.disc_diameter_canvas * can.px_per_canvas, 1),
    }


def _lesion(can: Canonical, les: Lesion) -> dict[str, Any]:
    out = les.to_dict()
    out["centre_xy"] = _xy(can, les.centre)
    return out


def _lesion_findings(raw: dict[str, Any]) -> list[Finding]:
    out = []
    for name, label in LESION_LABELS.items():
        items = [les for les in raw["lesions"] if les["type"] == name]
        if not items:
            continue
        out.append(
            Finding(
                kind="lesion",
                label=f"{label} ({len(items)})",
                location={"boxes": [les["box"] for les in items], "laterality": raw["laterality"]},
                measurements={"count": len(items), "total_area_px": round(sum(les["area_px"] for les in items), 1)},
                confidence=max(les["probability"] for les in items),
            )
        )
    return out


def _grade_finding(raw: dict[str, Any]) -> Finding:
    grade = raw["grade"]
    text = f"ICDR grade {grade} — {raw['grade_name']}"
    text += "; referable diabetic retinopathy" if raw["referable"] else "; no referable diabetic retinopathy"
    return Finding(
        kind="grade",
        label=text,
        code=SCT_DIABETIC_RETINOPATHY if grade >= 1 else None,
        location={"laterality": raw["laterality"]},
        measurements={
            "icdr_grade": grade,
            "grade_probabilities": raw["grade_probabilities"],
            "referable_probability": raw["referable_probability"],
            "referable_threshold": raw["referable_threshold"],
        },
        confidence=raw["referable_probability"],
        abnormal=bool(raw["referable"] or grade > 0),
    )


def _summary(raw: dict[str, Any]) -> str:
    eye = {"R": "right eye", "L": "left eye"}.get(raw["laterality"] or "", "eye not stated")
    counts = ", ".join(
        f"{LESION_LABELS[name].split(' (')[0].lower()} {n}" for name, n in raw["lesion_counts"].items() if n
    )
    head = "REFERABLE DR" if raw["referable"] else "no referable DR"
    text = (
        f"Fundus ({eye}): {head} (p={raw['referable_probability']:.2f}), ICDR grade {raw['grade']} "
        f"({raw['grade_name']})"
    )
    if raw["dme_suspected"]:
        text += "; suspected macular oedema"
    return text + (f"; {counts}" if counts else "")


def _report(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Fundus photograph — diabetic retinopathy screening — AI preliminary report",
        "laterality": raw["laterality"],
        "quality": raw["quality"],
        "grade": raw["grade"],
        "grade_name": raw["grade_name"],
        "referable": raw["referable"],
        "referable_probability": raw["referable_probability"],
        "dme_suspected": raw["dme_suspected"],
        "lesions": [
            {"type": name, "count": n} for name, n in (raw.get("lesion_counts") or {}).items() if n
        ],
        "optic_disc": raw["optic_disc"],
        "fovea": raw["fovea"],
        "impression": raw["summary"],
        "recommendation": (
            "Refer to an ophthalmologist"
            if raw["referable"]
            else ("Retake the photograph" if raw["referable"] is None else "Re-screen as scheduled")
        ),
        "urgency": raw["urgency"],
        "disclaimer": DISCLAIMER,
    }

