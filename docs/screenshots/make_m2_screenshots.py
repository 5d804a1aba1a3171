"""The README's pictures of issue 12: the class-conditional canvas of the shipped 2-D M2 with a
dropped digit (its q(y|x) bars and its style ellipse) and the analogies figure.

    LATENTLAB_DATA=../shared/datasets QT_QPA_PLATFORM=offscreen python docs/screenshots/make_m2_screenshots.py [WxH]

Writes docs/screenshots/m2-canvas.png and m2-analogies.png (default size 1280x720).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from shots import open_window, save, settle, wait_until  # noqa: E402

ROOT = HERE.parents[1]
MODEL = ROOT / "trained" / "m2-2d.pt"
DIGIT = ROOT / "resources" / "samples" / "mnist" / "4_0019.png"   # a 4 that the classifier finds close to a 9



def main() -> None:
    size = tuple(int(v) for v in (sys.argv[1] if len(sys.argv) > 1 else "1280x720").split("x"))
    suffix = "" if size == (1280, 720) else f"-{size[0]}x{size[1]}"
    app, window = open_window(size, explorer_only=True)
    assert window.open_checkpoint(MODEL), window.statusBar().currentMessage()
    ex = window.explorer
    wait_until(app, lambda: ex.state.hover_image is not None, 30)
    ex.encode_files([str(DIGIT)])
    wait_until(app, lambda: ex.state.detailed_encoding() is not None
               and ex.state.detailed_encoding().posterior is not None, 30)
    encoding = ex.state.detailed_encoding()
    ex.state.set_selected_class(9)              # the 4's style, drawn as a 9
    ex.show_latent(encoding.posterior.mu)
    settle(app, 2.0)
    save(window, HERE / f"m2-canvas{suffix}.png")
    ex.tabs.setCurrentWidget(ex.analogies)
    wait_until(app, lambda: ex.analogies.array() is not None, 60)
    settle(app, 1.5)
    save(window, HERE / f"m2-analogies{suffix}.png")
    print(window.statusBar().currentMessage())
    print("q(y|x) of the dropped digit:", encoding.class_probs.round(2).tolist())
    window.shutdown()


if __name__ == "__main__":
    main()
