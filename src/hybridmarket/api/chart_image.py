"""The picture of a shared market link: a 1200×630 PNG (what `summary_large_image` and Open
Graph cards show uncropped) with the question, the YES price now and its line over time.

Pure (Pillow only, no I/O): points in, PNG bytes out. Pillow's own font (`load_default`, a
FreeType font shipped in its wheels) draws the text, so no system font is needed."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from hybridmarket.api.sharing import CHART_SIZE, SITE_NAME

BACKGROUND = (16, 20, 31)
TEXT = (244, 246, 251)
MUTED = (150, 158, 178)
GRID = (44, 50, 66)
YES = (61, 220, 151)
MARGIN = 56


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    lines: int,
) -> list[str]:
    """`text` in at most `lines` lines of at most `width` pixels, the last one cut with "…"."""
    out: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=font) <= width or not current:
            current = trial
            continue
        out.append(current)
        current = word
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
        out[-1] += " …"
    for i in range(len(out)):  # a single word wider than the card
        while draw.textlength(out[i], font=font) > width and len(out[i]) > 1:
            out[i] = out[i][:-2] + "…"
    return out


def render(question: str, price_yes: Decimal, points: Sequence[tuple[datetime, Decimal]]) -> bytes:
    """The card as PNG bytes. `points` are (time, YES price) oldest first; without any, the
    line is flat at the current price."""
    width, height = CHART_SIZE
    img = Image.new("RGB", CHART_SIZE, BACKGROUND)
    draw = ImageDraw.Draw(img)
    title_font, price_font, small = _font(52), _font(64), _font(28)
    y = MARGIN
    for line in _wrap(draw, question, title_font, width - 2 * MARGIN, 2):
        draw.text((MARGIN, y), line, font=title_font, fill=TEXT)
        y += 66
    price = f"YES {(price_yes * 100).quantize(Decimal('0.1'))}%"
    draw.text((MARGIN, y + 10), price, font=price_font, fill=YES)
    draw.text((width - MARGIN, height - MARGIN), SITE_NAME, font=small, fill=MUTED, anchor="rb")

    # The plot: 0-100% on the vertical axis, time on the horizontal one.
    left, right = MARGIN, width - MARGIN
    top, bottom = y + 110, height - MARGIN - 48
    for frac in (0.0, 0.5, 1.0):
        gy = bottom - frac * (bottom - top)
        draw.line([(left, gy), (right, gy)], fill=GRID, width=2)
        draw.text((left, gy - 4), f"{int(frac * 100)}%", font=small, fill=MUTED, anchor="lb")
    series = [(t.timestamp(), float(p)) for t, p in points] or []
    if len(series) < 2:
        last = float(price_yes)
        series = [(0.0, series[0][1] if series else last), (1.0, last)]
    t0, t1 = series[0][0], series[-1][0]
    span = (t1 - t0) or 1.0
    xy = [(left + (t - t0) / span * (right - left), bottom - p * (bottom - top)) for t, p in series]
    # A step line: the price holds until the next trade moves it.
    steps = [xy[0]]
    for (_, py), (nx, ny) in itertools.pairwise(xy):
        steps += [(nx, py), (nx, ny)]
    draw.line(steps, fill=YES, width=6, joint="curve")
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
