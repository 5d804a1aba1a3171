"""The README's pictures of the training replay: the window with its time slider halfway through a
run (the canvas, the decoded image and the manifold of that epoch) and the canvas forming over
training as a GIF.

    LATENTLAB_DATA=../shared/datasets latentlab train --data mnist --latent-dim 2 --epochs 8 --threads 1 \
        --no-progress --out /tmp/replay-demo/model.pt
    QT_QPA_PLATFORM=offscreen python docs/screenshots/make_replay_screenshot.py [/tmp/replay-demo/model.pt]

Writes docs/screenshots/replay.png (1280x720) and replay.gif (under 2 MB).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from shots import open_window, save, settle, wait_until  # noqa: E402

MAX_GIF_BYTES = 2_000_000



def main() -> None:
    run = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/replay-demo/model.pt")
    app, window = open_window((1280, 720), explorer_only=True)
    assert window.open_checkpoint(run), window.statusBar().currentMessage()
    ex, bar = window.explorer, window.explorer.replay
    assert bar.isEnabled(), f"{run} has no replay folder"
    ex.tabs.setCurrentWidget(ex.manifold)
    middle = (bar.slider.maximum()) // 2
    epoch = bar.snapshots[middle][0]
    shown = []
    bar.shown.connect(shown.append)
    bar.slider.setValue(middle)
    wait_until(app, lambda: shown and shown[-1] == epoch, 30)
    ex.show_latent([0.3, -0.6])
    generation = ex.state.model_generation
    wait_until(app, lambda: ex.state.hover_image is not None and ex.manifold.array() is not None
               and ex.state.model_generation == generation, 60)
    settle(app, 2.0)
    save(window, HERE / "replay.png")
    print(bar.label.text(), "|", window.statusBar().currentMessage())
    window.shutdown()

    from latentlab.core.replay_export import export_replay

    out, frames = export_replay(run, HERE / "replay.gif", what="canvas", fps=3)
    size = out.stat().st_size
    print(f"wrote {out} ({frames} frames, {size // 1024} KB)", file=sys.stderr)
    assert size < MAX_GIF_BYTES, f"{out} is {size} bytes; keep it under {MAX_GIF_BYTES}"


if __name__ == "__main__":
    main()
