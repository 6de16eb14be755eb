"""Which DICOM objects dualsign accepts, and the exam modality each one becomes."""

from __future__ import annotations

from pydicom import uid
from pydicom.uid import UID, AllTransferSyntaxes

from dualsign.exams.modality import Modality

# SOP class -> modality; Secondary Capture says nothing by itself, so its Modality attribute decides.
ACCEPTED: dict[str, Modality | None] = {
    uid.CTImageStorage: Modality.CHEST_CT,
    uid.EnhancedCTImageStorage: Modality.CHEST_CT,
    uid.OphthalmicPhotography8BitImageStorage: Modality.FUNDUS,
    uid.VLPhotographicImageStorage: Modality.FUNDUS,
    uid.TwelveLeadECGWaveformStorage: Modality.ECG,
    uid.GeneralECGWaveformStorage: Modality.ECG,
    uid.SecondaryCaptureImageStorage: None,
}
_BY_MODALITY_ATTRIBUTE = {"CT": Modality.CHEST_CT, "OP": Modality.FUNDUS, "XC": Modality.FUNDUS, "ECG": Modality.ECG}

# Every transfer syntax pydicom knows, compressed ones included: instances are stored as sent, never
# transcoded, so accepting one costs nothing and the analyzer decodes what it can.
TRANSFER_SYNTAXES: list[str] = [str(ts) for ts in AllTransferSyntaxes]


def modality_for(sop_class_uid: str, modality_attribute: str) -> Modality | None:
    """The exam modality of an accepted object, or None when nothing says which it is."""
    found = ACCEPTED.get(sop_class_uid)
    return found or _BY_MODALITY_ATTRIBUTE.get(modality_attribute.upper())


def name(uid: str) -> str:
    return UID(uid).name or uid
