"""Draws an `AvatarState` for an `Appearance` onto a pygame Surface (procedural 2.5D, no assets).

Used by the desktop window and, as a texture, by the VR front end. Only this module and the front ends
import pygame. The room, body and desk are drawn once per size and cached; the head and the cues are
drawn each frame from the state, so a frame is a pure function of (appearance, state, size).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

from vpatient.avatar.appearance import RGB, Appearance
from vpatient.avatar.state import AvatarState

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

MOUTH_INSIDE: RGB = (72, 18, 26)
CUE_COLOURS: dict[str, RGB] = {
    "listening": (60, 170, 90),
    "thinking": (225, 165, 40),
    "speaking": (60, 120, 220),
    "idle": (140, 140, 140),
}


def import_pygame() -> Any:
    try:
        import pygame
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("the avatar needs pygame: pip install 'vpatient[avatar]' (or pip install pygame)") from exc
    return pygame


def _mix(a: RGB, b: RGB, k: float) -> RGB:
    k = min(1.0, max(0.0, k))
    return (round(a[0] + (b[0] - a[0]) * k), round(a[1] + (b[1] - a[1]) * k), round(a[2] + (b[2] - a[2]) * k))


def _shade(c: RGB, k: float) -> RGB:
    return _mix(c, (0, 0, 0), k) if k >= 0 else _mix(c, (255, 255, 255), -k)


def wrap_words(text: str, width_of: Callable[[str], int], max_width: float) -> list[str]:
    """Greedy word wrap: lines no wider than `max_width` as measured by `width_of` (a font's size)."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if width_of(trial) > max_width and cur:
            lines.append(cur)
            cur = word
        else:
            cur = trial
    if cur:
        lines.append(cur)
    return lines


class Renderer:
    """Renders frames of one patient at one size."""

    def __init__(
        self, appearance: Appearance, size: tuple[int, int] = (1280, 720), font: bool = True, head_only: bool = False
    ) -> None:
        """head_only: draw just the head, centred, on a transparent surface (the VR front end's face texture)."""
        self.pg = import_pygame()
        self.look = appearance
        self.size = size
        self.head_only = head_only
        w, h = size
        self.unit = h * 0.118  # the head's half width in pixels
        self.cx = w / 2
        self.cy = h * 0.40
        if head_only:
            self.unit = min(w / 2.6, h / 3.3)
            self.cy = h * 0.52
            font = False
        self._base: Any = None
        self._desk: Any = None
        self._sub_cache: tuple[str, Any] | None = None
        self._font: Any = None
        self._cue_font: Any = None
        if font:
            if not self.pg.font.get_init():
                self.pg.font.init()
            self._font = self.pg.font.Font(None, max(14, round(h * 0.045)))
            self._cue_font = self.pg.font.Font(None, max(12, round(h * 0.032)))
        self._labels: dict[str, Any] = {}

    # --- geometry --------------------------------------------------------------------------------
    def _proj(self, st: AvatarState) -> Any:
        yaw, pitch, roll = (math.radians(a) for a in (st.head_yaw, st.head_pitch, st.head_roll))
        cyw, syw, cp, sp, cr, sr = (
            math.cos(yaw),
            math.sin(yaw),
            math.cos(pitch),
            math.sin(pitch),
            math.cos(roll),
            math.sin(roll),
        )
        u, cx, cy = self.unit, self.cx, self.cy

        def p(x: float, y: float, z: float = 0.9) -> tuple[float, float]:
            # yaw about the vertical axis, pitch about the horizontal, then roll in the image plane
            x1 = x * cyw + z * syw
            z1 = -x * syw + z * cyw
            y1 = y * cp + z1 * sp
            x2 = x1 * cr - y1 * sr
            y2 = x1 * sr + y1 * cr
            return cx + x2 * u, cy + y2 * u

        return p

    def mouth_rect(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels around the mouth (generous enough for the head's movement)."""
        u = self.unit
        return round(self.cx - 0.45 * u), round(self.cy + 0.35 * u), round(0.9 * u), round(0.55 * u)

    def eye_rect(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels around both eyes and brows."""
        u = self.unit
        return round(self.cx - 0.8 * u), round(self.cy - 0.65 * u), round(1.6 * u), round(0.75 * u)

    # --- cached layers -----------------------------------------------------------------------------
    def _build_base(self) -> None:
        pg, (w, h), look, u = self.pg, self.size, self.look, self.unit
        base = pg.Surface((w, h))
        # wall with a soft vertical gradient, a skirting line, a window and a wall chart
        for i in range(0, h, 4):
            pg.draw.rect(base, _mix((214, 222, 226), (186, 196, 202), i / h), (0, i, w, 4))
        pg.draw.rect(base, (235, 240, 244), (round(w * 0.06), round(h * 0.12), round(w * 0.2), round(h * 0.3)))
        pg.draw.rect(base, (150, 160, 170), (round(w * 0.06), round(h * 0.12), round(w * 0.2), round(h * 0.3)), 4)
        pg.draw.line(base, (150, 160, 170), (round(w * 0.16), round(h * 0.12)), (round(w * 0.16), round(h * 0.42)), 3)
        pg.draw.rect(base, (250, 250, 246), (round(w * 0.78), round(h * 0.14), round(w * 0.1), round(h * 0.2)))
        for k in range(4):
            y = round(h * (0.17 + 0.04 * k))
            pg.draw.line(base, (170, 170, 190), (round(w * 0.795), y), (round(w * 0.865), y), 2)
        # chair back
        pg.draw.rect(base, (70, 80, 96), (round(self.cx - 2.6 * u), round(self.cy + 1.2 * u), round(5.2 * u), h), 0, 18)
        # torso and arms
        cloth = look.clothing
        sx = 2.0 * u if look.sex != "female" else 1.8 * u
        top = self.cy + 1.75 * u
        torso = [
            (self.cx - 0.45 * u, top - 0.2 * u),
            (self.cx - sx, top + 0.25 * u),
            (self.cx - sx - 0.35 * u, h),
            (self.cx + sx + 0.35 * u, h),
            (self.cx + sx, top + 0.25 * u),
            (self.cx + 0.45 * u, top - 0.2 * u),
        ]
        pg.draw.polygon(base, cloth, torso)
        pg.draw.polygon(base, _shade(cloth, 0.25), torso, 3)
        # neck
        neck = [
            (self.cx - 0.38 * u, self.cy + 0.9 * u),
            (self.cx + 0.38 * u, self.cy + 0.9 * u),
            (self.cx + 0.45 * u, top + 0.05 * u),
            (self.cx - 0.45 * u, top + 0.05 * u),
        ]
        pg.draw.polygon(base, _shade(look.skin, 0.12), neck)
        pg.draw.polygon(
            base,
            cloth,
            [
                (self.cx - 0.5 * u, top - 0.15 * u),
                (self.cx, top + 0.35 * u),
                (self.cx + 0.5 * u, top - 0.15 * u),
                (self.cx + 0.9 * u, top + 0.05 * u),
                (self.cx, top + 0.7 * u),
                (self.cx - 0.9 * u, top + 0.05 * u),
            ],
        )
        if look.scarf:
            pg.draw.ellipse(base, look.scarf, (self.cx - 0.9 * u, top - 0.25 * u, 1.8 * u, 0.6 * u))
        if look.hair_length == "long" and not look.tied_back and look.headscarf is None:
            for side in (-1, 1):
                pg.draw.ellipse(
                    base, look.hair, (self.cx + side * 0.95 * u - 0.35 * u, top - 0.4 * u, 0.7 * u, 1.0 * u)
                )
        self._base = base
        # the desk in front (with a notepad and a pen), drawn over the body
        desk = pg.Surface((w, h), pg.SRCALPHA)
        dy = round(h * 0.80)
        pg.draw.rect(desk, (150, 110, 72), (0, dy, w, h - dy))
        pg.draw.rect(desk, (120, 86, 56), (0, dy, w, max(3, round(h * 0.012))))
        pg.draw.polygon(
            desk,
            (248, 248, 240),
            [(w * 0.58, dy + h * 0.05), (w * 0.7, dy + h * 0.05), (w * 0.72, dy + h * 0.15), (w * 0.56, dy + h * 0.15)],
        )
        pg.draw.line(desk, (40, 40, 60), (w * 0.62, dy + h * 0.07), (w * 0.69, dy + h * 0.13), 3)
        # hands resting on the desk
        for side in (-1, 1):
            pg.draw.ellipse(desk, look.skin, (self.cx + side * 1.5 * u - 0.4 * u, dy - 0.25 * u, 0.8 * u, 0.45 * u))
            pg.draw.ellipse(
                desk, _shade(look.skin, 0.2), (self.cx + side * 1.5 * u - 0.4 * u, dy - 0.25 * u, 0.8 * u, 0.45 * u), 2
            )
        self._desk = desk

    # --- per frame ---------------------------------------------------------------------------------
    def render(self, st: AvatarState, surface: Any = None) -> Any:
        """Draw the frame for `st` on `surface` (a new Surface of self.size if None) and return it."""
        pg = self.pg
        if self.head_only:
            if surface is None:
                surface = pg.Surface(self.size, pg.SRCALPHA)
            surface.fill((0, 0, 0, 0))
            self._head(surface, st)
            return surface
        if self._base is None:
            self._build_base()
        if surface is None:
            surface = pg.Surface(self.size)
        surface.blit(self._base, (0, 0))
        self._head(surface, st)
        surface.blit(self._desk, (0, 0))
        self._cue(surface, st)
        if st.subtitle:
            self._subtitle(surface, st.subtitle)
        return surface

    def overlay(self, surface: Any, st: AvatarState) -> None:
        """Only the cue pill and the subtitle (drawn over the 3D renderer's frame in the desktop window)."""
        self._cue(surface, st)
        if st.subtitle:
            self._subtitle(surface, st.subtitle)

    def dirty_rects(self) -> list[Any]:
        """The only regions that change from frame to frame (head with its movement and thought bubble,
        cue, subtitle band); everything else is the static room."""
        pg, (w, h), u = self.pg, self.size, self.unit
        head = pg.Rect(round(self.cx - 1.7 * u), round(self.cy - 2.1 * u), round(3.95 * u), round(3.8 * u))
        cue = pg.Rect(0, round(h * 0.88), round(w * 0.025 + h * 0.3), round(h * 0.1))
        band = pg.Rect(0, round(h * 0.82), w, h - round(h * 0.82))
        return [r.clip(pg.Rect(0, 0, w, h)) for r in (head, cue, band)]

    def render_dirty(self, st: AvatarState, surface: Any) -> list[Any]:
        """Redraw only `dirty_rects()` on a surface that already holds a full frame from this renderer;
        the result is pixel-identical to `render`. Returns the rects (for pygame.display.update)."""
        if self._base is None:
            self._build_base()
        rects = self.dirty_rects()
        for r in rects:
            surface.blit(self._base, r, r)
        clip = surface.get_clip()
        surface.set_clip(rects[0])
        self._head(surface, st)
        surface.set_clip(clip)
        for r in rects:
            surface.blit(self._desk, r, r)
        self._cue(surface, st)
        if st.subtitle:
            self._subtitle(surface, st.subtitle)
        return rects

    def _ellipse_pts(
        self,
        p: Any,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        z: float = 0.0,
        a0: float = 0.0,
        a1: float = 2 * math.pi,
        n: int = 28,
    ) -> list[tuple[float, float]]:
        return [
            p(cx + rx * math.cos(a0 + (a1 - a0) * i / n), cy + ry * math.sin(a0 + (a1 - a0) * i / n), z)
            for i in range(n + (0 if a1 - a0 >= 2 * math.pi else 1))
        ]

    def _head(self, s: Any, st: AvatarState) -> None:
        pg, look, e, u = self.pg, self.look, st.expression, self.unit
        p = self._proj(st)
        skin = _mix(look.skin, (200, 40, 40), 0.25 * e.flush)
        dark = _shade(skin, 0.22)
        hair = look.hair
        # hair behind the head, ears, face
        if look.headscarf is not None:
            pg.draw.polygon(s, look.headscarf, self._ellipse_pts(p, 0, 0.05, 1.22, 1.5, -0.2))
        elif look.hair_length in ("long", "medium") and not look.tied_back:
            drop = 1.55 if look.hair_length == "long" else 0.9
            pg.draw.polygon(s, _shade(hair, 0.1), self._ellipse_pts(p, 0, 0.15, 1.18, 1.1 + drop * 0.45, -0.3))
        if look.tied_back and look.headscarf is None:
            pg.draw.circle(s, hair, p(0.0, -1.25, -0.4), 0.35 * u)
        if look.headscarf is None:
            for side in (-1, 1):
                pg.draw.polygon(s, dark, self._ellipse_pts(p, side * 0.98, 0.05, 0.14, 0.24, 0.0, n=12))
        female = look.sex == "female"
        face = self._ellipse_pts(p, 0, 0, 0.93 if female else 1.0, 1.27 if female else 1.3, 0.3, n=40)
        if not female:  # a broader jaw
            jaw = [p(-0.95, 0.55, 0.3), p(-0.6, 1.12, 0.5), p(0.6, 1.12, 0.5), p(0.95, 0.55, 0.3)]
            pg.draw.polygon(s, skin, jaw)
        pg.draw.polygon(s, skin, face)
        if look.headscarf is None:
            self._hair_top(s, p, st)
        # cheeks flush
        if e.flush > 0.05:
            for side in (-1, 1):
                pg.draw.polygon(
                    s,
                    _mix(skin, (210, 70, 80), 0.35 * e.flush),
                    self._ellipse_pts(p, side * 0.52, 0.28, 0.2, 0.13, 0.85, n=14),
                )
        self._wrinkles(s, p, skin, st)
        self._eyes(s, p, skin, st)
        # nose
        pg.draw.lines(s, dark, False, [p(0.02, -0.05, 0.95), p(0.06, 0.2, 1.05), p(0.0, 0.27, 1.05)], 2)
        for side in (-1, 1):
            pg.draw.circle(s, _shade(skin, 0.35), p(side * 0.08, 0.27, 1.0), max(1, 0.03 * u))
        if look.beard:
            beard = [
                p(-0.92, 0.1, 0.5),
                *self._ellipse_pts(p, 0, 0.35, 0.92, 0.95, 0.75, 0.0, math.pi, 18)[::-1],
                p(0.92, 0.1, 0.5),
                p(0.5, 0.45, 0.9),
                p(0, 0.4, 0.95),
                p(-0.5, 0.45, 0.9),
            ]
            pg.draw.polygon(s, hair, beard[::-1])
        self._mouth(s, p, skin, st)
        if look.beard or look.moustache:
            pg.draw.polygon(s, hair, [p(-0.3, 0.42, 0.9), p(0, 0.34, 0.95), p(0.3, 0.42, 0.9), p(0, 0.4, 0.95)])
        if look.glasses:
            for side in (-1, 1):
                pg.draw.polygon(s, (50, 50, 60), self._ellipse_pts(p, side * 0.38, -0.05, 0.24, 0.17, 0.95, n=16), 3)
            pg.draw.line(s, (50, 50, 60), p(-0.14, -0.08, 1.0), p(0.14, -0.08, 1.0), 3)

    def _hair_top(self, s: Any, p: Any, st: AvatarState) -> None:
        pg, look = self.pg, self.look
        hair = look.hair
        if look.hair_length == "bald":
            if look.age >= 50:
                for side in (-1, 1):
                    pg.draw.polygon(
                        s, hair, [p(side * 1.0, -0.4, 0.2), p(side * 0.95, 0.1, 0.3), p(side * 0.88, -0.5, 0.4)]
                    )
            return
        line = -0.62 if look.receding else -0.72
        if look.hair_length in ("long", "medium") and not look.tied_back:
            line = -0.68
        pts = self._ellipse_pts(p, 0, 0, 1.06, 1.37, 0.35, math.pi, 2 * math.pi, 22)
        fringe = [
            p(0.95, -0.15, 0.45),
            p(0.55, line - (0.12 if look.receding else 0.0), 0.8),
            p(0.2, line - 0.05, 0.85),
            p(-0.2, line, 0.85),
            p(-0.6, line - (0.12 if look.receding else 0.0), 0.8),
            p(-0.95, -0.15, 0.45),
        ]
        pg.draw.polygon(s, hair, [p(-1.06, -0.1, 0.3), *pts, p(1.06, -0.1, 0.3), *fringe])
        if look.cap is not None:
            pg.draw.polygon(
                s,
                look.cap,
                [
                    *self._ellipse_pts(p, 0, -0.9, 0.95, 0.5, 0.5, math.pi, 2 * math.pi, 16),
                    p(0.95, -0.8, 0.5),
                    p(-0.95, -0.8, 0.5),
                ],
            )

    def _wrinkles(self, s: Any, p: Any, skin: RGB, st: AvatarState) -> None:
        pg, e = self.pg, st.expression
        w = self.look.wrinkles
        line = _shade(skin, 0.18)
        n = round(w * 3) + (1 if e.brow_raise > 0.4 else 0)
        for k in range(n):
            y = -0.42 - 0.09 * k
            pg.draw.lines(s, line, False, [p(-0.45, y + 0.02, 0.9), p(0, y, 0.95), p(0.45, y + 0.02, 0.9)], 1)
        if w > 0.3 or e.smile > 0.4 or e.mouth_tense > 0.5:
            for side in (-1, 1):
                pg.draw.lines(
                    s, line, False, [p(side * 0.17, 0.22, 1.0), p(side * 0.36, 0.42, 0.9), p(side * 0.38, 0.6, 0.85)], 2
                )
        if w > 0.5 or e.squint > 0.5:
            for side in (-1, 1):
                for d in (-0.06, 0.04):
                    pg.draw.line(s, line, p(side * 0.66, -0.05 + d, 0.8), p(side * 0.78, -0.07 + 2 * d, 0.75), 1)

    def _eyes(self, s: Any, p: Any, skin: RGB, st: AvatarState) -> None:
        pg, e, u = self.pg, st.expression, self.unit
        brow_colour = _shade(self.look.hair, 0.15) if self.look.hair_length != "bald" else _shade(skin, 0.45)
        if self.look.headscarf is not None or self.look.cap is not None:
            brow_colour = (60, 45, 35) if self.look.age < 60 else (140, 136, 130)
        open_k = max(0.0, e.eye_open * (1.0 - st.blink))
        for side in (-1, 1):
            ex, ey = side * 0.38, -0.05
            hw, hh = 0.19, 0.1 * open_k
            low = 0.1 * max(0.15, min(1.25, e.eye_open)) * (1.0 - 0.55 * e.squint)
            upper = [
                p(ex + hw * math.cos(a), ey - hh * math.sin(a), 0.9) for a in (math.pi * i / 12 for i in range(13))
            ]
            lower = [
                p(ex + hw * math.cos(a), ey + low * math.sin(a), 0.9)
                for a in (math.pi * i / 12 for i in range(12, -1, -1))
            ]
            if open_k > 0.08:
                pg.draw.polygon(s, (246, 246, 242), upper + lower)
                ix, iy = p(ex + 0.07 * st.gaze_x, ey + 0.04 * st.gaze_y + 0.01, 0.95)
                pg.draw.circle(s, (78, 58, 40), (ix, iy), 0.075 * u)
                pg.draw.circle(s, (16, 12, 10), (ix, iy), 0.035 * u)
                pg.draw.circle(s, (255, 255, 255), (ix - 0.02 * u, iy - 0.025 * u), max(1, 0.015 * u))
                # lids cover any iris outside the eye
                top = [
                    p(ex + hw * 1.25, ey - 0.02, 0.9),
                    p(ex + hw * 1.25, ey - 0.2, 0.9),
                    p(ex - hw * 1.25, ey - 0.2, 0.9),
                    p(ex - hw * 1.25, ey - 0.02, 0.9),
                ]
                pg.draw.polygon(s, skin, top[:2] + top[2:] + upper[::-1])
                bot = [
                    p(ex - hw * 1.25, ey + 0.02, 0.9),
                    p(ex - hw * 1.25, ey + 0.18, 0.9),
                    p(ex + hw * 1.25, ey + 0.18, 0.9),
                    p(ex + hw * 1.25, ey + 0.02, 0.9),
                ]
                pg.draw.polygon(s, skin, bot + lower[::-1])
            pg.draw.lines(s, (40, 30, 28), False, upper, 3 if self.look.sex == "female" else 2)
            pg.draw.lines(s, _shade(skin, 0.2), False, lower, 1)
            if e.tears > 0.05:
                tx, ty = p(ex + side * -0.05, ey + 0.16, 0.92)
                pg.draw.line(s, (150, 190, 235), (tx, ty), (tx + side * 0.01 * u, ty + 0.35 * u * e.tears), 3)
                pg.draw.circle(s, (160, 200, 240), (tx + side * 0.01 * u, ty + 0.38 * u * e.tears), 0.04 * u)
            # brows: inner end up for worry/sadness, down for anger/pain
            inner_y = ey - 0.2 - 0.08 * e.brow_raise - 0.09 * e.brow_inner
            outer_y = ey - 0.2 - 0.08 * e.brow_raise + 0.04 * e.brow_inner
            inner_x = side * (0.17 - (0.04 if e.brow_inner < 0 else 0.0) * -e.brow_inner)
            brow = [
                p(inner_x, inner_y, 0.95),
                p(side * 0.4, (inner_y + outer_y) / 2 - 0.04, 0.92),
                p(side * 0.62, outer_y, 0.85),
                p(side * 0.62, outer_y + 0.05, 0.85),
                p(side * 0.4, (inner_y + outer_y) / 2 + 0.02, 0.92),
                p(inner_x, inner_y + 0.07, 0.95),
            ]
            pg.draw.polygon(s, brow_colour, brow)

    def _mouth(self, s: Any, p: Any, skin: RGB, st: AvatarState) -> None:
        pg, e = self.pg, st.expression
        lip = _mix(skin, (170, 70, 80), 0.6 if self.look.sex == "female" else 0.45)
        my = 0.55
        half = 0.24 * (1 + 0.22 * st.mouth_wide + 0.15 * e.mouth_tense) * (1 - 0.25 * st.mouth_open)
        corner = my - 0.07 * e.smile
        gap = 0.24 * st.mouth_open
        n = 10
        up = [
            p(
                -half + 2 * half * i / n,
                my - 0.015 - (gap * 0.35) * math.sin(math.pi * i / n) + (corner - my) * (1 - math.sin(math.pi * i / n)),
                0.9,
            )
            for i in range(n + 1)
        ]
        lo = [
            p(
                -half + 2 * half * i / n,
                my + 0.015 + (gap * 0.65) * math.sin(math.pi * i / n) + (corner - my) * (1 - math.sin(math.pi * i / n)),
                0.9,
            )
            for i in range(n, -1, -1)
        ]
        if gap > 0.012:
            pg.draw.polygon(s, MOUTH_INSIDE, up + lo)
            if st.mouth_open > 0.3:
                teeth = [
                    p(-half * 0.6, my - 0.01 - gap * 0.28, 0.92),
                    p(half * 0.6, my - 0.01 - gap * 0.28, 0.92),
                    p(half * 0.55, my - gap * 0.12, 0.92),
                    p(-half * 0.55, my - gap * 0.12, 0.92),
                ]
                pg.draw.polygon(s, (238, 236, 226), teeth)
            pg.draw.lines(s, lip, False, up, 4)
            pg.draw.lines(s, lip, False, lo, 5)
        else:
            pg.draw.lines(s, _shade(lip, 0.15), False, up, 4 if e.mouth_tense < 0.5 else 3)
            pg.draw.lines(
                s, lip, False, [p(-half * 0.7, my + 0.05, 0.9), p(0, my + 0.07, 0.9), p(half * 0.7, my + 0.05, 0.9)], 3
            )

    def _cue(self, s: Any, st: AvatarState) -> None:
        """A pill bottom-left: green pulsing dot = listening, three amber dots = thinking, blue bars = speaking."""
        pg, (w, h) = self.pg, self.size
        colour = CUE_COLOURS.get(st.mode, CUE_COLOURS["idle"])
        r = max(6, round(h * 0.014))
        x0, y0 = round(w * 0.025), round(h * 0.9)
        pg.draw.rect(s, (30, 34, 40), (x0, y0, round(h * 0.27), round(h * 0.065)), 0, round(h * 0.03))
        cy, cx = y0 + round(h * 0.0325), x0 + round(h * 0.04)
        if st.mode == "listening":
            pg.draw.circle(s, colour, (cx, cy), r * (0.8 + 0.3 * math.sin(2 * math.pi * st.cue_phase)))
        elif st.mode == "thinking":
            for k in range(3):
                lit = int(st.cue_phase * 3) == k
                pg.draw.circle(s, colour if lit else _shade(colour, 0.55), (cx - r + k * r * 1.4, cy), r * 0.5)
        elif st.mode == "speaking":
            for k in range(3):
                hgt = r * (0.5 + 1.5 * st.mouth_open * (0.7 + 0.3 * math.sin(st.t * 20 + k)))
                pg.draw.rect(s, colour, (cx - r + k * r * 0.9, cy - hgt / 2, r * 0.6, hgt))
        else:
            pg.draw.circle(s, colour, (cx, cy), r * 0.6)
        if self._cue_font is not None:
            label = self._labels.get(st.mode)
            if label is None:
                label = self._labels[st.mode] = self._cue_font.render(st.mode.capitalize(), True, (235, 235, 235))
            s.blit(label, (cx + r * 2, cy - label.get_height() // 2))
        if st.mode == "thinking":  # a thought bubble by the head too
            u = self.unit
            for k in range(3):
                lit = int(st.cue_phase * 3) >= k
                pg.draw.circle(
                    s,
                    (250, 250, 250) if lit else (205, 210, 214),
                    (self.cx + (1.3 + 0.3 * k) * u, self.cy - (1.0 + 0.3 * k) * u),
                    (0.08 + 0.05 * k) * u,
                )

    def _subtitle(self, s: Any, text: str) -> None:
        if self._font is None:
            return
        if self._sub_cache is None or self._sub_cache[0] != text:
            self._sub_cache = (text, self._render_subtitle(text))
        sub = self._sub_cache[1]
        w, h = self.size
        s.blit(sub, ((w - sub.get_width()) // 2, round(h * 0.985) - sub.get_height()))

    def _render_subtitle(self, text: str) -> Any:
        pg, (w, _h) = self.pg, self.size
        # at most two lines: the end of a long reply
        lines = wrap_words(text, lambda t: int(self._font.size(t)[0]), w * 0.7)[-2:]
        rendered = [self._font.render(line, True, (255, 255, 255)) for line in lines]
        lh = self._font.get_linesize()
        bw = max(r.get_width() for r in rendered) + lh
        box = pg.Surface((bw, lh * len(rendered) + lh // 2), pg.SRCALPHA)
        box.fill((0, 0, 0, 170))
        for i, r in enumerate(rendered):
            box.blit(r, ((bw - r.get_width()) // 2, lh // 4 + i * lh))
        return box
