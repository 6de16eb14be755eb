"""A report version as PDF, in Chinese or English, with both halves of the dual signature and their check.

Text is set in the font `fonts.resolve` found (a TrueType Chinese font, embedded as a subset), or in the
reader-supplied CID font STSong-Light where none is installed."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dualsign.reports import fonts

LAYOUT_MARKS = "·●—"  # separators and bullets the layout below prints besides TEXT

TEXT: dict[str, dict[str, Any]] = {
    "zh": {"title": "诊断报告", "status": "状态", "version": "版本", "patient": "患者", "sex": "性别",
           "birth": "出生日期", "mrn": "病历号", "accession": "检查号", "received": "接收时间", "site": "送检机构",
           "findings": "检查所见", "rejected": "医师否决的 AI 发现", "impression": "诊断意见",
           "signatures": "签名（人机双签）", "ai": "AI 签名", "physician": "医师签名", "licence": "执业证号",
           "algorithm": "算法", "signed_at": "签名时间", "verified": "已验证", "not_verified": "验证失败",
           "content": "内容摘要 SHA-256", "reason": "原因", "key_images": "关键图像",
           "final_note": "本报告由人工智能生成初稿，经执业医师审核并签名（人机双签）。",
           "preliminary_note": "AI 初步报告：经执业医师审核签名后方有效。",
           "retracted_note": "本报告已撤回，不再有效。",
           "status_names": {"preliminary": "AI 初报", "final": "已签发", "amended": "已修订", "superseded": "已被修订",
                            "retracted": "已撤回"},
           "modalities": {"ecg": "心电图", "chest_ct": "胸部CT", "fundus": "眼底照相"},
           "sexes": {"M": "男", "F": "女", "O": "其他", "U": "未知"}},
    "en": {"title": "Report", "status": "Status", "version": "Version", "patient": "Patient", "sex": "Sex",
           "birth": "Birth date", "mrn": "MRN", "accession": "Accession", "received": "Received", "site": "Site",
           "findings": "Findings", "rejected": "AI findings rejected by the physician", "impression": "Impression",
           "signatures": "Signatures (human-machine dual signature)", "ai": "AI signature",
           "physician": "Physician signature", "licence": "Licence", "algorithm": "Algorithm",
           "signed_at": "Signed at", "verified": "verified", "not_verified": "NOT VERIFIED",
           "content": "Content SHA-256", "reason": "Reason", "key_images": "Key images",
           "final_note": "Drafted by AI, reviewed and signed by a licensed physician (human-machine dual signature).",
           "preliminary_note": "AI preliminary report: not valid until signed by a physician.",
           "retracted_note": "This report has been retracted and is no longer valid.",
           "status_names": {"preliminary": "AI preliminary", "final": "Final", "amended": "Amended",
                            "superseded": "Superseded", "retracted": "Retracted"},
           "modalities": {"ecg": "ECG", "chest_ct": "Chest CT", "fundus": "Fundus photograph"},
           "sexes": {"M": "male", "F": "female", "O": "other", "U": "unknown"}},
}


@dataclass(frozen=True)
class SignatureLine:
    kind: str  # "ai" or "physician"
    signer: str
    licence_number: str | None
    algorithm: str
    signed_at: str
    verified: bool
    problems: Sequence[str]


def resolve_font(setting: str) -> fonts.PdfFont:
    """The report font for DUALSIGN_PDF_FONT; it must hold every character the templates print."""
    return fonts.resolve(setting, _template_characters())


def _template_characters() -> str:
    chars: set[str] = set(LAYOUT_MARKS)

    def walk(value: object) -> None:
        if isinstance(value, str):
            chars.update(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)

    walk(TEXT)
    return "".join(sorted(c for c in chars if ord(c) > 0x7F))


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=10, leading=14)
    return {"body": base, "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11),
            "h1": ParagraphStyle("h1", parent=base, fontSize=16, leading=22, spaceAfter=4),
            "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=8, spaceAfter=2),
            "bad": ParagraphStyle("bad", parent=base, textColor=colors.red)}


def _measurements(m: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in m.items() if isinstance(v, int | float) and not isinstance(v, bool))


def render(content: dict[str, Any], *, status: str, version: int, content_sha256: str, reason: str | None,
           signatures: Sequence[SignatureLine], images: Sequence[tuple[str, bytes]] = (), lang: str = "zh",
           font: fonts.PdfFont | None = None) -> bytes:
    """PDF bytes of one report version, set in `font` (default: the reader-supplied CID font)."""
    font = font or fonts.cid_font()
    tx, st = TEXT[lang], _styles(font.name)
    exam, patient = content.get("exam", {}), content.get("patient", {})

    def p(text: object, style: str = "body") -> Paragraph:
        return Paragraph(font.markup(escape(str(text))), st[style])

    story: list[Any] = [
        p(f"{exam.get('site_name', '')} · {tx['modalities'].get(exam.get('modality'), exam.get('modality'))} "
          f"{tx['title']}", "h1"),
        p(f"{tx['status']}: {tx['status_names'].get(status, status)} · {tx['version']} {version}"
          + (f" · {tx['reason']}: {reason}" if reason else "")),
    ]
    rows = [[tx["patient"], patient.get("name", ""), tx["sex"], tx["sexes"].get(patient.get("sex"), "")],
            [tx["mrn"], patient.get("medical_record_number", ""), tx["birth"], patient.get("birth_date") or ""],
            [tx["accession"], exam.get("accession", ""), tx["received"], str(exam.get("received_at", ""))[:16]]]
    table = Table([[p(c) for c in row] for row in rows], colWidths=[25 * mm, 60 * mm, 25 * mm, 60 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey)]))
    story += [Spacer(1, 4 * mm), table, p(tx["findings"], "h2")]
    for f in content.get("findings", []):
        text = f.get("label", "")
        if measured := _measurements(f.get("measurements") or {}):
            text += f" ({measured})"
        story.append(p(f"● {text}"))
    if rejected := content.get("rejected_ai_findings"):
        story.append(p(tx["rejected"], "h2"))
        story += [p(f"● {f.get('label', '')} — {f.get('reason', '')}", "small") for f in rejected]
    if images:
        story.append(p(tx["key_images"], "h2"))
        shown = [Image(io.BytesIO(data), width=55 * mm, height=55 * mm, kind="proportional") for _, data in images[:6]]
        cells = [shown[i:i + 3] for i in range(0, len(shown), 3)]
        story.append(Table(cells))
    impression = content.get("impression") or content.get("structured", {}).get("impression") or ""
    story += [p(tx["impression"], "h2"), p(impression)]
    note = {"preliminary": tx["preliminary_note"], "retracted": tx["retracted_note"]}.get(status, tx["final_note"])
    story += [Spacer(1, 3 * mm), p(note, "bad" if status in ("preliminary", "retracted") else "small"),
              p(tx["signatures"], "h2")]
    for s in signatures:
        check = tx["verified"] if s.verified else f"{tx['not_verified']}: {'; '.join(s.problems)}"
        who = f"{tx['ai'] if s.kind == 'ai' else tx['physician']}: {s.signer}"
        if s.licence_number:
            who += f" · {tx['licence']} {s.licence_number}"
        story.append(p(f"{who} · {tx['algorithm']} {s.algorithm} · {tx['signed_at']} {s.signed_at[:19]} · {check}",
                       "body" if s.verified else "bad"))
    story.append(p(f"{tx['content']}: {content_sha256}", "small"))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"{exam.get('accession', '')} v{version}",
                            author="dualsign", creator="dualsign", lang="zh-CN" if lang == "zh" else "en",
                            invariant=1)
    doc.build(story)
    return buf.getvalue()


