"""ElidedLabel: a changing text never moves the layout around it."""

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from latentlab.gui.elided_label import ElidedLabel


def test_long_text_is_elided_keeps_the_whole_text_and_moves_nothing(qtbot):
    box = QWidget()
    layout = QHBoxLayout(box)
    label = ElidedLabel("short")
    button = QPushButton("Pause")
    layout.addWidget(label, 1)
    layout.addWidget(button)
    qtbot.addWidget(box)
    box.resize(300, 40)
    box.show()
    qtbot.waitExposed(box)
    before = button.geometry()
    long = "epoch 3 of 30, step 1,234: " + "a long progress text " * 10
    label.setText(long)
    box.layout().activate()
    assert button.geometry() == before
    assert label.text() == long and label.toolTip() == long
    shown = label.shown_text()
    assert shown.endswith("…") and len(shown) < len(long)
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    label.setText("short")
    assert label.shown_text() == "short"
