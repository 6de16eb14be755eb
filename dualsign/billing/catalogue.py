"""The catalogue of billable AI services (one per modality) and the self-pay / fund split.

Money is integer fen throughout; ratios are Decimals parsed from strings, never floats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from importlib import resources
from pathlib import Path
from typing import Any

from dualsign.billing.errors import CatalogueError, NotBillable
from dualsign.exams.modality import Modality
from dualsign.settings import get_settings

REQUIRED = ("code", "name_zh", "name_en", "unit_price_fen", "self_pay_ratio", "modality", "analyzer")


@dataclass(frozen=True)
class BillableService:
    code: str
    name_zh: str
    name_en: str
    unit_price_fen: int
    self_pay_ratio: Decimal
    modality: str
    analyzer: str


class Catalogue:
    """Validated services, looked up by modality (each modality has exactly one)."""

    def __init__(self, services: list[BillableService], source: str = "<memory>") -> None:
        self.source = source
        self._by_modality = {s.modality: s for s in services}
        self._services = tuple(services)

    def for_modality(self, modality: str) -> BillableService:
        try:
            return self._by_modality[str(modality)]
        except KeyError:
            raise NotBillable(
                f"no billable service for modality {str(modality)!r} in the catalogue {self.source}"
            ) from None

    @property
    def services(self) -> tuple[BillableService, ...]:
        return self._services

    def __iter__(self) -> Iterator[BillableService]:
        return iter(self._services)

    def __len__(self) -> int:
        return len(self._services)


def split_amount(amount_fen: int, self_pay_ratio: Decimal) -> tuple[int, int]:
    """(self_pay_fen, fund_fen): self-pay rounded half up to whole fen; the fund pays the rest exactly.

    ROUND_HALF_UP rounds halves away from zero, so split_amount(-x, r) == -split_amount(x, r).
    """
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise TypeError(f"amount must be integer fen, got {amount_fen!r}")
    if not isinstance(self_pay_ratio, Decimal):
        raise TypeError(f"self-pay ratio must be a Decimal, got {self_pay_ratio!r}")
    if not self_pay_ratio.is_finite() or not Decimal(0) <= self_pay_ratio <= Decimal(1):
        raise ValueError(f"self-pay ratio must lie in [0, 1], got {self_pay_ratio}")
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any realistic amount and ratio; rounding happens only in quantize
        self_pay = int((Decimal(amount_fen) * self_pay_ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return self_pay, amount_fen - self_pay


def _parse_entry(index: int, raw: Any) -> BillableService:
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"catalogue entry #{index}: expected an object, got {type(raw).__name__}")
    where = f"catalogue entry #{index} (code {raw.get('code')!r}, modality {raw.get('modality')!r})"
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(k for k in raw if k not in REQUIRED and not str(k).startswith("_"))
    if unknown:  # a misspelt field would otherwise be silently ignored
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for key in ("code", "name_zh", "name_en", "modality", "analyzer"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise CatalogueError(f"{where}: {key} must be a non-empty string")
    price = raw["unit_price_fen"]
    if isinstance(price, bool) or not isinstance(price, int):
        raise CatalogueError(f"{where}: unit_price_fen must be an integer number of fen, got {price!r}")
    if price < 0:
        raise CatalogueError(f"{where}: unit_price_fen must not be negative, got {price}")
    ratio_text = raw["self_pay_ratio"]
    if not isinstance(ratio_text, str):  # a JSON number would pass through float on the way in
        raise CatalogueError(f"{where}: self_pay_ratio must be a decimal string such as \"0.10\"")
    try:
        ratio = Decimal(ratio_text.strip())
    except InvalidOperation:
        raise CatalogueError(f"{where}: self_pay_ratio {ratio_text!r} is not a decimal number") from None
    if not ratio.is_finite() or not Decimal(0) <= ratio <= Decimal(1):
        raise CatalogueError(f"{where}: self_pay_ratio must lie between 0 and 1, got {ratio_text!r}")
    if raw["modality"] not in {m.value for m in Modality}:
        known = ", ".join(m.value for m in Modality)
        raise CatalogueError(f"{where}: unknown modality {raw['modality']!r} (known: {known})")
    return BillableService(
        code=raw["code"].strip(),
        name_zh=raw["name_zh"].strip(),
        name_en=raw["name_en"].strip(),
        unit_price_fen=price,
        self_pay_ratio=ratio,
        modality=raw["modality"],
        analyzer=raw["analyzer"].strip(),
    )


def parse_catalogue(data: Any, source: str = "<memory>") -> Catalogue:
    """Validate decoded catalogue JSON; every error names the file and the offending entry."""
    if not isinstance(data, Mapping) or not isinstance(data.get("services"), list):
        raise CatalogueError(f"{source}: expected an object with a \"services\" list")
    services: list[BillableService] = []
    seen_modality: dict[str, int] = {}
    seen_code: dict[str, int] = {}
    for index, raw in enumerate(data["services"], start=1):
        try:
            service = _parse_entry(index, raw)
        except CatalogueError as exc:
            raise CatalogueError(f"{source}: {exc}") from None
        if service.modality in seen_modality:
            raise CatalogueError(
                f"{source}: catalogue entry #{index} (code {service.code!r}) is a second service for "
                f"modality {service.modality!r}, already billed by entry #{seen_modality[service.modality]}"
            )
        if service.code in seen_code:
            raise CatalogueError(
                f"{source}: catalogue entry #{index} repeats code {service.code!r} of entry "
                f"#{seen_code[service.code]}"
            )
        seen_modality[service.modality] = seen_code[service.code] = index
        services.append(service)
    return Catalogue(services, source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate a catalogue: the given file, else settings.catalogue_path, else the packaged one."""
    if path is None:
        path = get_settings().catalogue_path
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"cannot read catalogue {source}: {exc.strerror or exc}") from None
    else:
        packaged = resources.files("dualsign.billing").joinpath("catalogue.json")
        source = "dualsign/billing/catalogue.json"
        text = packaged.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{source}: not valid JSON: {exc}") from None
    return parse_catalogue(data, source)
