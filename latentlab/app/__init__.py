"""The explorer's application state and the work behind it, without Qt.

Everything here is plain Python, NumPy and PyTorch: what the latent explorer shows (`explorer_state`),
the model work it asks for (`jobs`, `job_queue`, `explorer_work`), and the pure helpers the views
use (planes, curve bookkeeping, redraw pacing, CSV exports). `latentlab.gui` renders this state and
sends requests to it; nothing in this package imports Qt or `latentlab.gui`, so it is tested
without a QApplication and could drive another front end.
"""
