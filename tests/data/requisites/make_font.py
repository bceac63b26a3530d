"""Makes archived.ttf, the font tests/requisite_site.py serves: a real TrueType font (so a browser
loads it and `document.fonts` says so) of two glyphs, a box for every letter, made with fontTools'
FontBuilder (`pip install fonttools`, then `python make_font.py`); kept here, 1 KB, so the tests
need no font package and no fontTools."""

from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen


def box():
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((500, 700))
    pen.lineTo((500, 0))
    pen.closePath()
    return pen.glyph()


fb = FontBuilder(1000, isTTF=True)
fb.setupGlyphOrder([".notdef", "box"])
fb.setupCharacterMap({c: "box" for c in range(0x20, 0x7F)})
fb.setupGlyf({".notdef": box(), "box": box()})
fb.setupHorizontalMetrics({".notdef": (600, 100), "box": (600, 100)})
fb.setupHorizontalHeader(ascent=800, descent=-200)
fb.setupNameTable({"familyName": "Archived", "styleName": "Regular"})
fb.setupOS2(sTypoAscender=800, usWinAscent=800, usWinDescent=200)
fb.setupPost()
fb.save(str(Path(__file__).with_name("archived.ttf")))
