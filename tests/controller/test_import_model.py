"""File > Import model: the model is read on a thread of its own, and the message says how
many layers came in and where the import stopped and why."""

from __future__ import annotations

from playground import read_model
from playground.controller import Controller
from tests.controller.test_controller import two_filter_bank
from tests.engine.test_model_import import Graph


def test_the_window_imports_a_model_off_the_gui_thread_and_reports_where_it_stopped(
    qtbot, tmp_path
):
    g = Graph()
    g.conv("conv1", 4, 3, pads=[1, 1, 1, 1])
    g.add("Relu", name="relu1")
    g.add("Flatten", name="flat")
    path = g.save(tmp_path)
    controller = Controller(two_filter_bank())
    messages: list[str] = []
    controller.message.connect(messages.append)
    try:
        controller.import_model(path)
        qtbot.waitUntil(lambda: bool(messages), timeout=15_000)
        assert messages[0] == (
            "Imported 1 layer of model.onnx; stopped at Flatten node 'flat': the bank format "
            "has no Flatten"
        )
        assert controller.bank == read_model(path).bank and controller.document.dirty
        (tmp_path / "bad.onnx").write_bytes(b"not a model")
        before = controller.bank
        controller.import_model(tmp_path / "bad.onnx")
        qtbot.waitUntil(lambda: len(messages) == 2, timeout=15_000)
        assert messages[1].startswith("cannot read bad.onnx") and controller.bank is before
    finally:
        controller.close()
