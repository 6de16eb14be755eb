"""The analyzer's ModelCard from weights/card.json (written by training/train_candidates.py), never typed in."""

from __future__ import annotations

import hashlib

from dualsign.analyzers.base import ModelCard
from dualsign.analyzers.ct_nodule import classify

# 0.4.0: a lesion classifier on the outline's shape gives each outlined lesion its confidence; 0.3.1: a small
# part-solid lesion whose blurred core reads below solid density is outlined at its halo; 0.3.0: pleural
# candidate pool; 0.2.1: long and short axes from the sub-pixel edge; 0.2.0: classifier retrained
# with sharp-kernel scans
VERSION = "0.4.0"
LIMITATIONS = (
    "The candidate classifier was trained and validated only on simulated nodules (smooth ellipsoids) inserted "
    "into real CT of three patients (one Lung-PET-CT-Dx patient, two LIDC-IDRI slabs); it has not been validated "
    "on real small nodules or on a whole LIDC/LUNA-class set, and real spiculated or irregular nodules may be "
    "missed or mis-sized. On the one real whole-lung series (5 mm, lung kernel) it reports two findings besides the "
    "tumour. "
    "Sharp (lung) reconstruction kernels are represented in training only by a simulated sharp look given to "
    "soft-kernel scans; confidences on other scanners and kernels are not calibrated. "
    "Candidates on the pleura found with the wall replaced by lung (the pleural pool) are scored by the same "
    "classifier without having been training examples: their confidences are the least calibrated, and they add "
    "low-confidence marks at the chest wall. "
    "The lesion classifier that gives an outlined lesion its confidence learned from 475 outlined lesions of the "
    "same simulated training scans (284 nodules); its calibration holds for those hosts only. "
    "Masses against the mediastinum or chest wall come from a rule-based stage whose score is not a calibrated "
    "probability. Motion artefacts are not assessed. Lung-RADS 4X features (spiculation, nodes), airway nodules "
    "and cysts are not assessed. Lobes are not segmented: location is lung and zone (upper/middle/lower third). "
    "Adults; chest CT only."
)


def _training_data(card: dict[str, object]) -> str:
    """The candidate classifier's training data and, when its weights are verified, the lesion classifier's."""
    text = f"Candidate classifier: {card.get('training_data')}"
    lesion = card.get("lesion_classifier")
    if classify.lesion_source() == "learned" and isinstance(lesion, dict):
        text += f" Lesion classifier: {lesion.get('training_data')}."
    return text


def model_card() -> ModelCard:
    card = classify.load_card()
    sha = classify.weights_sha256()
    verified = card is not None and sha is not None and card.get("weights_sha256", {}).get("candidates.onnx") == sha
    weights = sha if verified and sha else hashlib.sha256(b"").hexdigest()
    return ModelCard(
        name="dualsign-ct-nodule",
        version=VERSION,
        modality="chest_ct",
        intended_use=(
            "Preliminary reading of adult chest CT for lung nodules and masses (detection, size, volume, density, "
            "Lung-RADS v2022, follow-up growth) for review and signature by a licensed physician; not for "
            "unsupervised diagnosis."
        ),
        training_data=_training_data(card) if verified and card else
        "Rule-based candidate scoring only (weights missing or not matching card.json).",
        accuracy=dict(card.get("accuracy", {})) if verified and card else {"see": "BENCHMARKS.md"},
        weights_sha256=weights,
        limitations=LIMITATIONS,
    )
