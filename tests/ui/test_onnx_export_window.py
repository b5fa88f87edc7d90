"""File > Export as ONNX writes the whole bank, and the status bar says what the model takes."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSettings

from playground.ui import MainWindow
from tests.engine.test_onnx_export import BANKS, FRAME, onnxruntime_maps


def test_file_export_as_onnx_writes_the_bank_and_says_what_it_takes(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(open_camera=False, settings=settings, autosave_dir=tmp_path / "autosave")
    qtbot.addWidget(window)
    bank = BANKS["gray, stacked, pools"]
    window.controller.new_bank(bank)
    window.controller.document.mark_saved(tmp_path / "x.json")
    assert window.menus.export_onnx_action.isEnabled()
    assert window.export_onnx_file(tmp_path / "mine.onnx")
    assert "uint8 RGB" in window.statusBar().currentMessage()
    for g, w in zip(onnxruntime_maps(tmp_path / "mine.onnx", FRAME), bank.apply(FRAME)):
        np.testing.assert_allclose(g, w, atol=2e-5, rtol=1e-5)
