"""The names down the left of a caterpillar or dumbbell plot, drawn by one artist.

A national caterpillar plot has 152 council names. As 152 matplotlib Text artists they were a third of the
figure's cost: each is made with the whole property machinery and, when drawn (once for the PNG, once for the
SVG), sets up its own graphics context and transform and lays itself out. ``RowNames`` holds the names and
draws each as Text.draw would (the same layout, worked out by a Text, the same renderer calls in the same
order), so the PNG has the same pixels and the SVG the same bytes: tests/test_row_names.py compares both with
the figure drawn with one Text per name.
"""

from __future__ import annotations

import numpy as np
from matplotlib import artist
from matplotlib.text import Text
from matplotlib.transforms import Bbox


class RowNames(artist.Artist):
    """``names[i]`` at ``(0, y[i])`` in ``transform``, right-aligned, ``va`` as given, in ``size`` points; a
    row where ``bold[i]`` is drawn bold in ``highlight`` rather than ``colour``. Drawn where the Text artists
    it replaces would be (its zorder is Text's)."""

    zorder = Text.zorder

    def __init__(self, y, names, *, transform, size, va, colour, highlight=None, bold=None):
        super().__init__()
        self.y = np.asarray(y, dtype=float)
        self.names = [str(name) for name in names]
        self.bold = np.zeros(len(self.names), bool) if bold is None else np.asarray(bold, bool)
        self.set_transform(transform)
        self.set_clip_on(False)
        # a Text of each kind lays out each name, and is the text the SVG renderer aligns (its mtext)
        self._texts = {chosen: Text(0, 0, "", ha="right", va=va, fontsize=size, transform=transform,
                                    color=highlight if chosen else colour,
                                    fontweight="bold" if chosen else "normal", clip_on=False)
                       for chosen in (False, True)}

    def set_figure(self, fig):
        super().set_figure(fig)
        for text in self._texts.values():
            text.set_figure(fig)

    def get_fontsize(self) -> float:
        return self._texts[False].get_fontsize()

    def _laid_out(self):
        """For each row: its Text (holding the name and row) and the name's place in display units."""
        points = self.get_transform().transform(np.column_stack([np.zeros(len(self.y)), self.y]))
        for (posx, posy), name, chosen, yy in zip(points, self.names, self.bold, self.y):
            text = self._texts[bool(chosen)]
            text.set_text(name)
            text.set_y(yy)
            yield text, posx, posy

    @artist.allow_rasterization
    def draw(self, renderer):
        if not self.get_visible():
            return
        _, canvas_height = renderer.get_canvas_width_height()
        for text, posx, posy in self._laid_out():
            if text.get_text() == "":
                continue
            renderer.open_group("text", text.get_gid())
            _, lines, _ = text._get_layout(renderer)
            gc = renderer.new_gc()
            gc.set_foreground(text.get_color())
            gc.set_alpha(text.get_alpha())
            gc.set_url(text.get_url())
            gc.set_antialiased(text._antialiased)
            text._set_gc_clip(gc)
            for line, _, x, y in lines:
                x = x + posx
                y = y + posy
                if renderer.flipy():
                    y = canvas_height - y
                clean_line, ismath = text._preprocess_math(line)
                renderer.draw_text(gc, x, y, clean_line, text.get_fontproperties(), text.get_rotation(),
                                   ismath=ismath, mtext=text if len(lines) == 1 else None)
            gc.restore()
            renderer.close_group("text")
        self.stale = False

    def label_extents(self, renderer=None) -> list[Bbox]:
        """Each name's box in display units (what each Text's get_window_extent would give)."""
        if renderer is None:
            renderer = self.figure._get_renderer()
        boxes = []
        for text, posx, posy in self._laid_out():
            box, _, _ = text._get_layout(renderer)
            boxes.append(box.translated(posx, posy))
        return boxes

    def get_window_extent(self, renderer=None) -> Bbox:
        boxes = self.label_extents(renderer)
        return Bbox.union(boxes) if boxes else Bbox.null()
