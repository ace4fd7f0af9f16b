"""A figure written as PNG and SVG: what matplotlib's ``savefig`` writes, in a fraction of its time.

Two costs dominate a national run's figures, and neither changes a pixel or an SVG element when cut:

- **Text.** For every string it draws, Agg loads the glyphs twice (once to measure, once to draw) and the SVG
  renderer once more (to measure), in every figure: a caterpillar plot's 152 council names are loaded 27 times
  in a run. ``_TextOnceRenderer`` keeps each string's measurements and glyph bitmap for the process, keyed by
  everything they depend on (the text, the font's properties, the size, the dpi, the hinting and antialiasing
  settings), and draws the kept bitmap at the place Agg would have put it; ``_TextOnceSVGRenderer`` keeps the
  SVG's measurements. The bitmap is kept only on the matplotlib releases whose ``RendererAgg.draw_text`` works
  as it is mirrored here (3.8-3.10); on others Agg draws the text itself. tests/test_figure_files.py checks the
  pixels and the SVG against matplotlib's own on whatever release is installed.
- **Layout.** Each time a text is drawn (twice a figure, once per file), matplotlib works out its lines' places
  afresh from the measurements: a tenth of a national run's figures. On those same releases, a text drawn by
  these renderers keeps its layout for the process, keyed by everything it depends on (the text, font, size,
  line spacing, rotation, alignments, dpi and the renderer's measurements); any other renderer (a user's own
  figure) gets matplotlib's own ``Text._get_layout``.
- **Compression.** Pillow spends about 75 ms on a caterpillar plot's 1200 x 3524 pixels at its fastest level;
  zlib-ng's level 2 takes about 10 ms, and the file is no larger.
"""

from __future__ import annotations

import codecs
import io
import struct
import zlib
from math import cos, radians, sin

import matplotlib
import numpy as np
from matplotlib import cbook
from matplotlib import text as mtext
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from zlib_ng import zlib_ng

from surveykit import __version__

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMPRESSION_LEVEL = 2
_KEPT_AT_MOST = 50_000                        # strings kept per process (a national run keeps about 1,500)
_MIRRORED = tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) < (3, 11)


def png_bytes(fig, dpi: float = 150) -> bytes:
    """``fig`` drawn at ``dpi`` on a white background and encoded as a PNG file's bytes."""
    _TextOnceCanvas(fig)                      # becomes the figure's canvas
    pixels = _Captured()
    fig.savefig(pixels, format="raw", dpi=dpi, facecolor="white")
    return encode_png(np.asarray(pixels.data), dpi)


def write_svg(fig, path, dpi: float = 150) -> None:
    """``fig`` as an SVG file at ``path`` on a white background: text as text, no date and fixed ids (the
    same figure makes the same file); images in it at ``dpi``."""
    _TextOnceCanvas(fig)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "surveykit"}):
        fig.savefig(path, format="svg", dpi=dpi, facecolor="white", metadata={"Date": None})


def encode_png(rgba: np.ndarray, dpi: float | None = None) -> bytes:
    """An 8-bit (height, width, 4) RGBA array as PNG bytes (RGBA, as matplotlib writes them): every row
    unfiltered, which the figures' flat colours compress well enough, deflated by zlib-ng."""
    height, width, _ = rgba.shape
    rows = np.empty((height, 1 + width * 4), dtype=np.uint8)      # each row: filter type 0, then its pixels
    rows[:, 0] = 0
    rows[:, 1:] = rgba.reshape(height, width * 4)
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))]
    if dpi:
        per_metre = int(dpi / 0.0254 + 0.5)
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    software = f"surveykit {__version__}, matplotlib {matplotlib.__version__}".encode("latin-1")
    chunks.append(_chunk(b"tEXt", b"Software\x00" + software))
    chunks.append(_chunk(b"IDAT", zlib_ng.compress(rows.data, COMPRESSION_LEVEL)))
    chunks.append(_chunk(b"IEND", b""))
    return PNG_SIGNATURE + b"".join(chunks)


def _chunk(kind: bytes, data) -> bytes:
    return struct.pack(">I", len(data)) + kind + bytes(data) + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


class _Captured(io.RawIOBase):
    """What ``savefig(format="raw")`` writes: the renderer's own buffer, held rather than copied."""

    data = b""

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.data = data
        return len(data)


def _font_key(prop) -> tuple:
    """Everything of a FontProperties that picks the font and its size."""
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(), prop.get_stretch(),
            prop.get_size_in_points(), prop.get_file(), prop.get_math_fontfamily())


class _TextOnceRenderer(RendererAgg):
    """RendererAgg that loads each plain string's glyphs once per process (see the module's docstring)."""

    _kept: dict = {}

    def _laid_out(self, s, prop, antialiased):
        """(width, height, descent, {antialiased: (bitmap, x offset, y offset)}) of ``s`` as Agg makes them,
        the glyphs loaded once for both: the bitmap is drawn as the string is first measured."""
        key = (s, _font_key(prop), self.dpi, get_hinting_flag(), matplotlib.rcParams["text.hinting_factor"])
        kept = self._kept.get(key)
        if kept is None or (_MIRRORED and antialiased not in kept[3]):
            font = self._prepare_font(prop)
            font.set_text(s, 0.0, flags=get_hinting_flag())
            if kept is None:
                if len(self._kept) >= _KEPT_AT_MOST:
                    self._kept.clear()
                width, height = font.get_width_height()
                kept = self._kept[key] = (width / 64.0, height / 64.0, font.get_descent() / 64.0, {})
            if _MIRRORED:
                kept[3][antialiased] = _bitmap(font, antialiased)
        return kept

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        return self._laid_out(s, prop, bool(matplotlib.rcParams["text.antialiased"]))[:3]

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not _MIRRORED:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        antialiased = bool(gc.get_antialiased())
        _, _, descent, bitmaps = self._laid_out(s, prop, antialiased)
        bitmap, x_offset, y_offset = bitmaps[antialiased]
        # where RendererAgg.draw_text puts the bitmap: its offset, and the descent turned with the text
        x = round(x + x_offset + descent * sin(radians(angle)))
        y = round(y + y_offset + descent * cos(radians(angle)))
        self._renderer.draw_text_image(bitmap, x, y + 1, angle, gc)


def _bitmap(font, antialiased: bool) -> tuple:
    """The string last set on ``font`` drawn as Agg draws it: (bitmap, x offset, y offset) in pixels."""
    font.draw_glyphs_to_bitmap(antialiased=antialiased)
    x_offset, y_offset = font.get_bitmap_offset()
    return np.array(font.get_image(), dtype=np.uint8), x_offset / 64.0, y_offset / 64.0


class _TextOnceSVGRenderer(RendererSVG):
    """RendererSVG that measures each plain string once per process."""

    _kept: dict = {}

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, _font_key(prop))
        kept = self._kept.get(key)
        if kept is None:
            if len(self._kept) >= _KEPT_AT_MOST:
                self._kept.clear()
            kept = self._kept[key] = super().get_text_width_height_descent(s, prop, ismath)
        return kept


def _layout_key(text, renderer):
    """What ``text``'s layout depends on when ``renderer`` draws it, or None for a renderer not of this module
    (a rasterised part of an SVG is drawn by a plain RendererAgg)."""
    if isinstance(renderer, _TextOnceRenderer):
        measured = ("agg", renderer.dpi, get_hinting_flag(), matplotlib.rcParams["text.hinting_factor"])
    elif isinstance(renderer, MixedModeRenderer) and isinstance(renderer._renderer, _TextOnceSVGRenderer):
        measured = ("svg",)
    else:
        return None
    return (measured, text._get_wrapped_text(), _font_key(text._fontproperties), text.get_usetex(),
            text.get_parse_math(), text.figure.dpi, text._linespacing, text.get_rotation(),
            text._horizontalalignment, text._verticalalignment, text.get_rotation_mode(), text._get_multialignment())


_matplotlibs_layout = mtext.Text._get_layout
_kept_layouts: dict = {}


def _kept_layout(self, renderer):
    """``Text._get_layout``, kept per process for this module's renderers (see the module's docstring)."""
    key = _layout_key(self, renderer)
    if key is None:
        return _matplotlibs_layout(self, renderer)
    kept = _kept_layouts.get(key)
    if kept is None:
        if len(_kept_layouts) >= _KEPT_AT_MOST:
            _kept_layouts.clear()
        kept = _kept_layouts[key] = _matplotlibs_layout(self, renderer)
    bbox, lines, descent = kept
    return bbox.frozen(), list(lines), descent


if _MIRRORED:
    mtext.Text._get_layout = _kept_layout


class _TextOnceCanvas(FigureCanvasAgg):
    """FigureCanvasAgg drawing with ``_TextOnceRenderer``, and SVG files with ``_TextOnceSVGRenderer`` (as
    matplotlib's FigureCanvasSVG draws them: the figure at 72 dpi, images in it at the figure's)."""

    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, **applied):
        """``applied``: dpi, facecolor and the like, which ``savefig`` has already set on the figure."""
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            renderer = MixedModeRenderer(self.figure, width, height, dpi,
                                         _TextOnceSVGRenderer(width * 72, height * 72, fh, image_dpi=dpi,
                                                              metadata=metadata),
                                         bbox_inches_restore=bbox_inches_restore)
            self.figure.draw(renderer)
            renderer.finalize()

    def get_renderer(self):
        width, height = self.figure.bbox.size
        key = width, height, self.figure.dpi
        if getattr(self, "_lastKey", None) != key:
            self.renderer = _TextOnceRenderer(width, height, self.figure.dpi)
            self._lastKey = key
        return self.renderer
