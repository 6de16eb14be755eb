"""The Chinese font the PDF reports are set in, embedded in the file where a usable TrueType font is found.

An embedded font makes the report look the same on every reader (a patient's phone, an archive viewer years later)
and is what PDF/A archiving asks for. Where no such font is installed, the report names the Adobe-GB1 CID font
STSong-Light instead, which the reader must supply; the service says so at start-up and in /api/health.

DUALSIGN_PDF_FONT: empty (default) searches the usual places; a path names a .ttf/.ttc (its first face); "cid"
chooses the non-embedded font on purpose. A named font that cannot be used stops the start with the reason.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

CID_FONT = "STSong-Light"
EMBEDDED_FONT = "dualsign-cjk"
# Debian/Ubuntu (fonts-wqy-zenhei, fonts-wqy-microhei, fonts-arphic-uming), Windows (SimSun, SimHei).
# Noto/Source Han CJK are not listed: their PostScript outlines cannot be embedded by the PDF writer.
SEARCH = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "C:/Windows/Fonts/simsun.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


class FontError(ValueError):
    """A configured PDF font that cannot be used; the message says why."""


@dataclass(frozen=True)
class PdfFont:
    name: str  # the name the PDF styles use
    path: Path | None  # the embedded font file, None for the reader-supplied CID font
    embedded: bool
    codepoints: frozenset[int] = frozenset()  # what the embedded font can print

    def markup(self, escaped: str) -> str:
        """Paragraph markup for already-escaped text: a character the embedded font lacks (a rare character in
        a patient's name) is set in the CID font, so that it is printed rather than shown as an empty box."""
        if not self.embedded:
            return escaped
        out: list[str] = []
        for c in escaped:
            if ord(c) > 0x7F and ord(c) not in self.codepoints:
                out.append(f'<font face="{cid_font().name}">{c}</font>')
            else:
                out.append(c)
        return "".join(out)


_loaded: dict[str, PdfFont] = {}  # registered embedded fonts by name


def cid_font() -> PdfFont:
    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return PdfFont(CID_FONT, None, embedded=False)


def load(path: Path, required: str) -> PdfFont:
    """Register a TrueType font for embedding; FontError when it is missing, not TrueType, or lacks one of the
    required characters (those the report template prints: without them they would print as empty boxes)."""
    if not path.is_file():
        raise FontError(f"PDF font {path}: no such file")
    name = f"{EMBEDDED_FONT}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    font = _loaded.get(name)
    if font is None:
        try:
            tt = TTFont(name, str(path), subfontIndex=0)
        except (TTFError, OSError, ValueError) as exc:
            raise FontError(f"PDF font {path}: cannot be embedded ({exc}); use a TrueType .ttf/.ttc") from exc
        font = PdfFont(name, path, embedded=True, codepoints=frozenset(tt.face.charToGlyph))
    missing = [c for c in dict.fromkeys(required) if not c.isspace() and ord(c) not in font.codepoints]
    if missing:
        raise FontError(f"PDF font {path}: has no glyph for {''.join(missing[:10])} (needs Chinese characters)")
    if name not in _loaded:
        pdfmetrics.registerFont(tt)
        _loaded[name] = font
    return font


def resolve(setting: str, required: str, search: tuple[str, ...] = SEARCH) -> PdfFont:
    """The font DUALSIGN_PDF_FONT asks for (see the module text)."""
    if setting.strip().lower() == "cid":
        return cid_font()
    if setting.strip():
        return load(Path(setting).expanduser(), required)
    for candidate in search:
        try:
            return load(Path(candidate), required)
        except FontError:
            continue
    log.warning(
        "no TrueType Chinese font found (looked in %s): PDF reports will use %s, which the reader must supply; "
        "install fonts-wqy-zenhei or set DUALSIGN_PDF_FONT to a .ttf/.ttc",
        ", ".join(search),
        CID_FONT,
    )
    return cid_font()
