"""The modalities dualsign reads; each has one registered analyzer and one billable service."""

from enum import StrEnum


class Modality(StrEnum):
    ECG = "ecg"
    CHEST_CT = "chest_ct"
    FUNDUS = "fundus"
