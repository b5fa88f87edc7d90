"""`PresetDialog`: a preset's parameters with a live preview, and `preset_kernel`.

Everything runs on the GUI thread.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import (
    Qt,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from playground.engine import presets
from playground.engine.errors import BankError
from playground.ui.kernel_editor.cells import (
    _ERROR_COLOUR,
    kernel_pixmap,
)


class _OddSpinBox(QSpinBox):
    """Steps by 2 and rounds a typed even value up to the next odd one (down at the top)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSingleStep(2)
        self.editingFinished.connect(self._make_odd)

    def _make_odd(self) -> None:
        value = self.value()
        if value % 2 == 0:
            self.setValue(value + 1 if value + 1 <= self.maximum() else value - 1)


def _step_for(param: presets.Param) -> float:
    span = param.maximum - param.minimum
    return 10 ** math.floor(math.log10(span / 100)) if span > 0 else 0.1


class PresetDialog(QDialog):
    """Choose the parameters of a preset, with a live preview of the kernel.

    Accepting with invalid values shows the reason and stays open.
    """

    PREVIEW = 112

    def __init__(self, preset: presets.Preset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preset = preset
        self.setObjectName("presetDialog")
        self.setWindowTitle(f"Preset: {preset.name}")
        self.spinBoxes: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self._kernel: np.ndarray | None = None

        description = QLabel(preset.description, self)
        description.setWordWrap(True)
        form = QFormLayout()
        for param in preset.params:
            if param.integer:
                spin: QSpinBox | QDoubleSpinBox = _OddSpinBox(self) if param.odd else QSpinBox(self)
                spin.setRange(int(param.minimum), int(param.maximum))
                spin.setValue(int(param.default))
            else:
                spin = QDoubleSpinBox(self)
                spin.setDecimals(2)
                spin.setRange(param.minimum, param.maximum)
                spin.setSingleStep(_step_for(param))
                spin.setValue(param.default)
            spin.setObjectName(f"param_{param.name}")
            spin.setToolTip(param.description)
            spin.valueChanged.connect(self._update_preview)
            self.spinBoxes[param.name] = spin
            label = QLabel(param.name, self)
            label.setToolTip(param.description)
            form.addRow(label, spin)

        self.preview = QLabel(self)
        self.preview.setObjectName("presetPreview")
        self.preview.setFixedSize(self.PREVIEW, self.PREVIEW)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.previewCaption = QLabel(self)
        self.previewCaption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.errorLabel = QLabel(self)
        self.errorLabel.setObjectName("presetError")
        self.errorLabel.setStyleSheet(f"color: {_ERROR_COLOUR};")
        self.errorLabel.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        preview_column = QVBoxLayout()
        preview_column.addWidget(self.preview)
        preview_column.addWidget(self.previewCaption)
        preview_column.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(form, 1)
        body.addSpacing(12)
        body.addLayout(preview_column)
        layout = QVBoxLayout(self)
        layout.addWidget(description)
        layout.addLayout(body)
        layout.addWidget(self.errorLabel)
        layout.addWidget(self.buttons)
        self._update_preview()

    def values(self) -> dict[str, float]:
        """Parameter values as the spin boxes show them (ints for integer params)."""
        values: dict[str, float] = {}
        for param in self.preset.params:
            value = self.spinBoxes[param.name].value()
            if param.integer and param.odd and int(value) % 2 == 0:
                value = int(value) + 1 if value + 1 <= param.maximum else int(value) - 1
            values[param.name] = value
        return values

    def kernel(self) -> np.ndarray:
        """The preset's float64 kernel for the current values; BankError if they are invalid."""
        return preset_kernel(self.preset.name, **self.values())

    def acceptedKernel(self) -> np.ndarray | None:
        """The kernel computed when the dialog was accepted."""
        return self._kernel

    def accept(self) -> None:
        try:
            self._kernel = self.kernel()
        except BankError as error:
            self.errorLabel.setText(str(error))
            return
        super().accept()

    def _update_preview(self) -> None:
        try:
            k = self.kernel()
        except BankError as error:
            self.errorLabel.setText(str(error))
            self.preview.clear()
            self.previewCaption.clear()
            return
        self.errorLabel.clear()
        self.preview.setPixmap(kernel_pixmap(k, self.PREVIEW))
        self.previewCaption.setText(f"{k.shape[0]}×{k.shape[1]}, sum {k.sum():.3g}")


def preset_kernel(name: str, **params: float) -> np.ndarray:
    """A preset's kernel in float64, with its params validated like `presets.kernel`.

    `presets.kernel` returns float32, which would store 1/9 as 0.1111111119; the bank keeps
    float64 so hand-made and preset weights stay exact.
    """
    preset = presets.get(name)
    known = {p.name for p in preset.params}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BankError(f"preset '{name}': unknown parameter '{unknown[0]}'")
    values = {p.name: p.validate(name, params.get(p.name, p.default)) for p in preset.params}
    return np.array(preset.build(**values), dtype=np.float64)
