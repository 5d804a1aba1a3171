"""A run's replay as an animation: the canvas (the encoded scatter) or the manifold forming over
training, one frame per snapshot (core/snapshots.py), written as an animated GIF or an MP4.

Frames are drawn with numpy (the scatter as the canvas draws it: the canvas' dark background,
tab10 colours by label, the prior's 1- and 2-sigma circles, equal units on both axes, the same
view in every frame) and carry "epoch N of M" in core/pixel_text.py's bitmap font, so neither Qt
nor a font file is needed: `latentlab replay` runs without a display. The GIF is written by
Pillow; an MP4 by an ffmpeg binary (one on PATH, or the imageio-ffmpeg package's:
`pip install latentlab[video]`), refused with a message saying so when there is none.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np

from .atomic_write import check_target, replace_file
from .pixel_text import draw_text, text_size
from .snapshots import SnapshotError, list_snapshots, load_snapshot, model_at, replay_dir

WHATS = ("canvas", "manifold")
FORMATS = ("gif", "mp4")
# As the window's canvas (gui/canvas.py): tab10 on #16181d, unlabelled points grey, prior circles.
LABEL_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
BACKGROUND, PRIOR, TEXT, UNLABELLED = "#16181d", "#5a5e66", "#e8e8e8", "#9a9a9a"
CANVAS_SIDE = 480          # pixels of a canvas frame's plot
MANIFOLD_N = 15            # the manifold frame's grid, n x n decoded images
CAPTION_SCALE = 3
FFMPEG_HINT = ("MP4 needs ffmpeg: install it (e.g. `apt install ffmpeg`) or the imageio-ffmpeg package "
               "(`pip install 'latentlab[video]'`); GIF works without it")

Progress = Callable[[int, int], None]     # (frames done, frames in all)


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written."""


def _rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def ffmpeg_exe() -> str | None:
    """An ffmpeg binary: on PATH, else imageio-ffmpeg's; None when there is neither."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:   # the package without its binary
        return None


def check_export(out, what: str = "canvas", fps: float = 4) -> tuple[Path, str]:
    """The target and its format, checked before any frame is drawn: ValueError naming the problem."""
    if what not in WHATS:
        raise ValueError(f"--what must be one of {', '.join(WHATS)}, got {what!r}")
    if not (0 < fps <= 60):
        raise ValueError(f"--fps must be more than 0 and at most 60, got {fps}")
    path = check_target(out, "animation")
    kind = path.suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ValueError(f"{path}: the animation's name must end in .gif or .mp4")
    if kind == "mp4" and ffmpeg_exe() is None:
        raise ValueError(FFMPEG_HINT)
    return path, kind


def replay_snapshots(checkpoint_path) -> list[tuple[int, Path]]:
    """The snapshots of a checkpoint's run; ValueError naming the folder when it has none."""
    folder = replay_dir(checkpoint_path)
    snapshots = list_snapshots(folder)
    if not snapshots:
        why = "is empty" if folder.is_dir() else "does not exist"
        raise SnapshotError(f"{checkpoint_path} has no training replay: {folder} {why} (runs trained with "
                            "--no-replay, or before latentlab kept replays, have none)")
    return snapshots


# ------------------------------------------------------------------------------------------ frames
def canvas_view(means: list[np.ndarray]) -> tuple[tuple[int, int], float]:
    """The axes and the half-width of the view shared by all frames: the two dimensions along which
    the last frame's points spread most (z1, z2 in 2-D), wide enough for every frame's points."""
    last = means[-1]
    if last.shape[1] <= 2:
        axes = (0, 1 if last.shape[1] > 1 else 0)
    else:
        first, second = np.argsort(-np.nan_to_num(last.var(axis=0), nan=-1.0), kind="stable")[:2]
        axes = (int(first), int(second))
    reach = max((float(np.nanpercentile(np.abs(m[:, list(axes)]), 99.5)) for m in means if len(m)), default=0.0)
    return axes, max(3.2, 1.08 * reach)    # at least the canvas' reset view, [-3.2, 3.2]^2


def caption(text: str, width: int) -> np.ndarray:
    """A strip of `width` pixels with `text` in it, light on the canvas' background."""
    height, text_width = text_size(text, CAPTION_SCALE)
    strip = np.empty((height + 12, width, 3), np.uint8)
    strip[:] = _rgb(BACKGROUND)
    draw_text(strip, text, 6, max(6, (width - text_width) // 2), _rgb(TEXT), CAPTION_SCALE)
    return strip


def canvas_frame(means: np.ndarray, labels: np.ndarray, axes: tuple[int, int], half_width: float,
                 title: str, side: int = CANVAS_SIDE) -> np.ndarray:
    """(H, W, 3) uint8: the scatter as the canvas draws it, with `title` above."""
    plot = np.empty((side, side, 3), np.uint8)
    plot[:] = _rgb(BACKGROUND)
    scale = (side - 1) / (2 * half_width)

    def to_pixels(x, y):
        return np.round((x + half_width) * scale).astype(int), np.round((half_width - y) * scale).astype(int)

    angles = np.linspace(0, 2 * np.pi, 2000)
    for radius in (1.0, 2.0):
        cx, cy = to_pixels(radius * np.cos(angles), radius * np.sin(angles))
        inside = (cx >= 0) & (cx < side) & (cy >= 0) & (cy < side) & ((np.arange(len(angles)) // 12) % 2 == 0)
        plot[cy[inside], cx[inside]] = _rgb(PRIOR)                 # dashed, as the canvas' circles
    palette = np.array([_rgb(c) for c in LABEL_COLOURS])
    x, y = to_pixels(means[:, axes[0]].astype(np.float64), means[:, axes[1]].astype(np.float64))
    colours = np.where((labels >= 0)[:, None], palette[np.maximum(labels, 0) % len(palette)], _rgb(UNLABELLED))
    for dx in (0, 1):            # 2 x 2 pixel dots
        for dy in (0, 1):
            px, py = x + dx, y + dy
            ok = (px >= 0) & (px < side) & (py >= 0) & (py < side)
            plot[py[ok], px[ok]] = colours[ok]
    return np.concatenate([caption(title, side), plot])


def manifold_frame(model, title: str, n: int = MANIFOLD_N) -> np.ndarray:
    """(H, W, 3) uint8: the learned manifold (AEVB Figure 4) of a 2-D VAE, with `title` above."""
    from .figures import manifold

    grid = manifold(model, n=n, padding=0)
    grid = np.stack([grid] * 3, axis=-1) if grid.ndim == 2 else grid
    zoom = max(1, CANVAS_SIDE // max(grid.shape[:2]))
    grid = np.repeat(np.repeat(grid, zoom, axis=0), zoom, axis=1)
    return np.concatenate([caption(title, grid.shape[1]), grid])


def render_frames(checkpoint_path, what: str = "canvas", progress: Progress | None = None,
                  cancel=None) -> list[np.ndarray]:
    """One frame per snapshot of the checkpoint's run. `cancel` (anything with is_set()) ends it
    with ExportCancelled between two frames."""
    from .checkpoint import load_checkpoint
    from .model_kinds import model_kind

    template = load_checkpoint(checkpoint_path).model      # a folder or a damaged file is named first
    snapshots = replay_snapshots(checkpoint_path)
    if what == "manifold" and (model_kind(template) != "vae" or template.latent_dim != 2):
        raise ValueError(f"the manifold over training needs a 2-D VAE; {checkpoint_path} is not one "
                         "(export the canvas instead: --what canvas)")
    last_epoch = snapshots[-1][0]
    total = len(snapshots) * (2 if what == "canvas" else 1)
    loaded, frames = [], []
    for i, (epoch, path) in enumerate(snapshots):
        _check(cancel)
        snapshot = load_snapshot(path, template)
        if what == "canvas":
            loaded.append(snapshot)
        else:
            frames.append(manifold_frame(model_at(snapshot, template), f"epoch {epoch} of {last_epoch}"))
        if progress:
            progress(i + 1, total)
    if what == "canvas":
        axes, half_width = canvas_view([s.means for s in loaded])
        for i, snapshot in enumerate(loaded):
            _check(cancel)
            frames.append(canvas_frame(snapshot.means, snapshot.labels, axes, half_width,
                                       f"epoch {snapshot.epoch} of {last_epoch}"))
            if progress:
                progress(len(loaded) + i + 1, total)
    return frames


def _check(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise ExportCancelled("the export was cancelled; nothing was written")


# ------------------------------------------------------------------------------------------ files
def write_gif(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    """An endlessly looping GIF, one frame per array, the last shown a second longer."""
    from PIL import Image

    images = [Image.fromarray(f).quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
              for f in frames]
    durations = [round(1000 / fps)] * len(images)
    durations[-1] += 1000
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0,
                   optimize=False, disposal=1)
    return replace_file(path, buffer.getvalue())


def write_mp4(frames: list[np.ndarray], path: Path, fps: float, cancel=None) -> Path:
    """H.264 through an ffmpeg binary (frames padded to even sizes, as yuv420p needs)."""
    exe = ffmpeg_exe()
    if exe is None:
        raise ValueError(FFMPEG_HINT)
    h, w = frames[0].shape[:2]
    h2, w2 = h + h % 2, w + w % 2
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.mp4")
    command = [exe, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w2}x{h2}",
               "-r", f"{fps:g}", "-i", "-", "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p", str(tmp)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for frame in frames:
            _check(cancel)
            padded = np.zeros((h2, w2, 3), np.uint8)
            padded[:h, :w] = frame
            process.stdin.write(padded.tobytes())
        process.stdin.close()
        error = process.stderr.read().decode(errors="replace").strip()
        if process.wait() != 0:
            raise OSError(f"cannot write {path}: ffmpeg failed: {error.splitlines()[-1] if error else 'no reason'}")
        os.replace(tmp, path)
    except BaseException:
        process.kill()
        process.wait()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        process.stderr.close()
    return path


def export_replay(checkpoint_path, out, what: str = "canvas", fps: float = 4, progress: Progress | None = None,
                  cancel=None) -> tuple[Path, int]:
    """Write the replay of the checkpoint's run to `out` (.gif or .mp4); (path, number of frames).
    ValueError / SnapshotError / CheckpointError naming the problem; ExportCancelled when cancelled."""
    path, kind = check_export(out, what, fps)
    frames = render_frames(checkpoint_path, what, progress, cancel)
    _check(cancel)
    if kind == "gif":
        return write_gif(frames, path, fps), len(frames)
    return write_mp4(frames, path, fps, cancel), len(frames)
