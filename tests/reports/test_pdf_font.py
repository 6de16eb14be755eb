"""The Chinese font of the PDF reports: embedded when a TrueType font with Chinese is found, a clear error when a
named one cannot be used, and the reader-supplied CID font (said at start-up and in /api/health) when none is.

The fonts here are built by the test with fontTools (real TrueType files, a square for each glyph), so the suite
does not depend on which font packages the machine has; the PDF writer and the PDF reader are the real ones.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from pypdf import PdfReader
from pypdf.generic import ContentStream

from dualsign.app import create_app
from dualsign.reports import fonts, pdf
from dualsign.runtime import Runtime
from tests.core.client import login_cached, signed_exam
from tests.core.network import build_network

RARE = "\U00020000"  # CJK Extension B: not in the test fonts, nor in most TrueType Chinese fonts


def _font(path: Path, chars: str, family: str) -> Path:
    """A TrueType font with a square glyph for each of chars (and for ASCII letters, digits and punctuation)."""
    chars = "".join(dict.fromkeys(chars + "".join(chr(c) for c in range(0x20, 0x7F))))
    names = [".notdef"] + [f"u{ord(c):05X}" for c in chars]
    pen = TTGlyphPen(None)
    pen.moveTo((50, 0))
    pen.lineTo((50, 700))
    pen.lineTo((650, 700))
    pen.lineTo((650, 0))
    pen.closePath()
    square = pen.glyph()
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): n for c, n in zip(chars, names[1:], strict=True)})
    fb.setupGlyf({n: square for n in names})
    fb.setupHorizontalMetrics({n: (700, 50) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.save(str(path))
    return path


def _chinese_font(tmp_path: Path) -> Path:
    # Every character the templates print, plus the test report's own.
    return _font(tmp_path / "cjk.ttf", pdf._template_characters() + "张三李四检查所见", "TestHei")


def _fonts_in(data: bytes) -> dict[str, bool]:
    """Each font the PDF shows text in, and whether its file is embedded (a FontFile in its descriptor)."""
    reader = PdfReader(io.BytesIO(data))
    out: dict[str, bool] = {}
    for page in reader.pages:
        page_resources: Any = page["/Resources"]  # pypdf's generic objects, read by key
        resources = page_resources["/Font"]
        current: Any = None
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"Tf":
                current = resources[operands[0]].get_object()
            elif op in (b"Tj", b"TJ", b"'", b'"') and current is not None:
                desc = current.get("/FontDescriptor")
                if desc is None and "/DescendantFonts" in current:
                    desc = current["/DescendantFonts"][0].get_object().get("/FontDescriptor")
                desc = desc.get_object() if desc is not None else {}
                out[str(current["/BaseFont"])] = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


def _render(font: fonts.PdfFont | None, name: str = "张三") -> bytes:
    content = {"exam": {"modality": "ecg", "accession": "A-1", "site_name": "检查所见"},
               "patient": {"name": name, "sex": "M"}, "findings": [{"label": "Sinus rhythm"}], "impression": "李四"}
    return pdf.render(content, status="final", version=2, content_sha256="0" * 64, reason=None, signatures=[],
                      lang="zh", font=font)


def test_found_font_is_embedded_and_text_reads_back(tmp_path: Path) -> None:
    found = fonts.resolve("", pdf._template_characters(), search=(str(tmp_path / "absent.ttc"),
                                                                   str(_chinese_font(tmp_path))))
    assert found.embedded and found.path == tmp_path / "cjk.ttf"
    data = _render(found)
    used = _fonts_in(data)
    assert used and all(used.values()), used  # every font that shows text is embedded
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "诊断报告" in text and "张三" in text and "李四" in text


def test_character_missing_from_the_font_is_set_in_the_cid_font(tmp_path: Path) -> None:
    found = fonts.load(_chinese_font(tmp_path), pdf._template_characters())
    data = _render(found, name=f"张{RARE}")
    used = _fonts_in(data)
    assert used.get(f"/{fonts.CID_FONT}") is False  # the rare character, reader-supplied
    assert any(embedded for name, embedded in used.items() if name != f"/{fonts.CID_FONT}")
    # Without the rare character the CID font is not used at all.
    assert f"/{fonts.CID_FONT}" not in _fonts_in(_render(found))


def test_named_font_that_cannot_be_used_says_why(tmp_path: Path) -> None:
    chars = pdf._template_characters()
    with pytest.raises(fonts.FontError, match="no such file"):
        fonts.resolve(str(tmp_path / "missing.ttf"), chars)
    latin = _font(tmp_path / "latin.ttf", "", "TestSans")
    with pytest.raises(fonts.FontError, match="has no glyph for .*needs Chinese"):
        fonts.resolve(str(latin), chars)
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font at all" * 10)
    with pytest.raises(fonts.FontError, match="cannot be embedded"):
        fonts.resolve(str(junk), chars)


def test_no_font_found_falls_back_to_cid_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    latin = _font(tmp_path / "latin.ttf", "", "TestSans")
    with caplog.at_level(logging.WARNING, logger="dualsign.reports.fonts"):
        chosen = fonts.resolve("", pdf._template_characters(), search=(str(latin), str(tmp_path / "none.ttc")))
    assert chosen.name == fonts.CID_FONT and not chosen.embedded
    assert "DUALSIGN_PDF_FONT" in caplog.text
    assert _fonts_in(_render(chosen)) == {f"/{fonts.CID_FONT}": False}
    assert fonts.resolve("cid", "").embedded is False  # asked for on purpose


@pytest.mark.parametrize("embedded", [True, False])
def test_health_says_whether_reports_embed_their_font(runtime: Runtime, tmp_path: Path, embedded: bool) -> None:
    runtime.pdf_font = fonts.load(_chinese_font(tmp_path), "") if embedded else fonts.cid_font()
    with TestClient(create_app(runtime)) as client:
        assert client.get("/api/health").json()["pdf_font_embedded"] is embedded


def test_report_pdf_from_the_api_is_set_in_the_runtime_font(runtime: Runtime, tmp_path: Path) -> None:
    # Every character the demo patient's report prints: the template, and the test font's ASCII.
    runtime.pdf_font = fonts.load(_font(tmp_path / "api.ttf", pdf._template_characters(), "ApiHei"), "")
    build_network(runtime)
    with TestClient(create_app(runtime)) as client:
        exam_id = signed_exam(client, mrn="FONT-1")
        doc = login_cached(client, "physician.a")
        final = next(v for v in client.get(f"/api/exams/{exam_id}/reports", headers=doc).json()["items"]
                     if v["status"] == "final")
        r = client.get(f"/api/exams/{exam_id}/reports/{final['version']}/pdf", headers=doc, params={"lang": "zh"})
    assert r.status_code == 200
    used = _fonts_in(r.content)
    assert any(name.endswith("+ApiHei") and embedded for name, embedded in used.items()), used
