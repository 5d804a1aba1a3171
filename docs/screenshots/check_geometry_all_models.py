"""Check issue 11's window on every shipped model: both canvas layers, the three paths between two
pins and the traversal, each computed in a real (offscreen) window; one line of numbers per model.

    LATENTLAB_DATA=/path/to/datasets python docs/screenshots/check_geometry_all_models.py [OUT_DIR]

With OUT_DIR, a 1280 x 720 picture of the window per model is written there to look at.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shots import open_window, save, wait_until  # noqa: E402
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else None
if OUT:
    OUT.mkdir(parents=True, exist_ok=True)
app, w = open_window((1280, 720), explorer_only=False)
e = w.explorer
g = e.geometry
g.set_shown(magnification=True, aggregate=True)
for name in ("mnist-2d", "mnist-10d", "mnist-20d", "fashion-2d", "frey-2d"):
    t = time.perf_counter()
    w.open_checkpoint(str(Path(__file__).resolve().parents[2] / "trained" / f"{name}.pt"))
    wait_until(app, lambda: e.model is not None and e.truth.examples is not None and e.model.latent_dim == int(name.split("-")[1][:-1]), timeout=60)
    e.pin([0.5] * e.model.latent_dim); e.pin([-1.0] * e.model.latent_dim)
    e.tabs.setCurrentWidget(e.interpolation)
    wait_until(app, lambda: g.magnification is not None and g.aggregate is not None and g.surgery is not None
               and not g.computing and e.path_presenter.layer.legend.isVisible(), timeout=180)
    e.tabs.setCurrentWidget(e.traversal)
    wait_until(app, lambda: e.traversal.array() is not None and "test images" in e.traversal.caption.text(), timeout=60)
    for _ in range(30): app.processEvents()
    lo, hi = g.magnification.finite_range()
    print(f"{name}: plane {e.plane.labels}, log magnification {lo:.2f}..{hi:.2f}; {e.geometry_controls.caption.text() if hasattr(e.geometry_controls.caption,'text') else ''}; "
          f"holes {g.aggregate.hole_cells}; paths {e.path_presenter.layer.texts()}; traversal: {e.traversal.caption.text()[:60]} ({time.perf_counter()-t:.1f} s)", flush=True)
    save(w, OUT / f"{name}.png") if OUT else None
    e.clear_pins()
w.shutdown()
