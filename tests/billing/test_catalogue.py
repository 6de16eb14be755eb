from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dualsign.billing.catalogue import load_catalogue
from dualsign.billing.errors import CatalogueError, NotBillable
from dualsign.exams.modality import Modality
from dualsign.settings import get_settings, use_settings

GOOD: dict[str, Any] = {
    "_note": "test",
    "services": [
        {"code": "X1", "name_zh": "心电", "name_en": "ECG", "unit_price_fen": 1000, "self_pay_ratio": "0.10",
         "modality": "ecg", "analyzer": "ecg"},
        {"code": "X2", "name_zh": "肺结节", "name_en": "CT", "unit_price_fen": 2500, "self_pay_ratio": "0.2",
         "modality": "chest_ct", "analyzer": "chest_ct"},
    ],
}


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "catalogue.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_packaged_catalogue_covers_every_modality() -> None:
    catalogue = load_catalogue()
    assert {s.modality for s in catalogue} == {m.value for m in Modality}
    for service in catalogue:
        assert isinstance(service.unit_price_fen, int) and service.unit_price_fen > 0
        assert isinstance(service.self_pay_ratio, Decimal)
        assert service.name_zh.startswith("人工智能辅助诊断")
    assert catalogue.for_modality(Modality.CHEST_CT).name_zh == "人工智能辅助诊断（肺结节CT）"


def test_unknown_modality_is_not_billable(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, GOOD))
    assert catalogue.for_modality("ecg").self_pay_ratio == Decimal("0.10")
    with pytest.raises(NotBillable, match="fundus"):
        catalogue.for_modality("fundus")


@pytest.fixture
def restore_settings() -> Iterator[None]:
    saved = get_settings()
    yield
    use_settings(saved)


def test_settings_path_is_used_when_none_given(tmp_path: Path, restore_settings: None) -> None:
    use_settings(dataclasses.replace(get_settings(), catalogue_path=write(tmp_path, GOOD)))
    assert [s.code for s in load_catalogue()] == ["X1", "X2"]


E2 = r"entry #2 \(code 'X2'.*"


def broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    change(data["services"][1])
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (broken(lambda e: e.pop("unit_price_fen")), E2 + r"missing field\(s\) unit_price_fen"),
        (broken(lambda e: e.update(unit_price_fen=-1)), E2 + r"must not be negative"),
        (broken(lambda e: e.update(unit_price_fen=25.0)), E2 + r"integer number of fen"),
        (broken(lambda e: e.update(self_pay_ratio="1.5")), E2 + r"between 0 and 1"),
        (broken(lambda e: e.update(self_pay_ratio="-0.1")), E2 + r"between 0 and 1"),
        (broken(lambda e: e.update(self_pay_ratio=0.1)), E2 + r"decimal string"),
        (broken(lambda e: e.update(self_pay_ratio="ten")), E2 + r"not a decimal"),
        (broken(lambda e: e.update(modality="ecg")), E2 + r"second service for modality 'ecg'"),
        (broken(lambda e: e.update(code="X1")), r"entry #2 repeats code 'X1'"),
        (broken(lambda e: e.update(modality="mri")), E2 + r"unknown modality 'mri'"),
        (broken(lambda e: e.update(analyzer="")), E2 + r"analyzer must be a non-empty"),
        (broken(lambda e: e.update(unit_price=1)), E2 + r"unknown field\(s\) unit_price"),
        ({"services": {}}, r"\"services\" list"),
        ("{not json", "not valid JSON"),
    ],
)
def test_validation_names_the_entry(tmp_path: Path, data: Any, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(CatalogueError, match=message) as info:
        load_catalogue(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read catalogue"):
        load_catalogue(tmp_path / "absent.json")
