"""The main window's actions, menus and toolbar: every command a user can reach, in one place.

Everything runs on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar, QToolButton

from playground.controller.controller import PATTERNS
from playground.lessons import LESSONS

if TYPE_CHECKING:
    from playground.ui.main_window import MainWindow


def make_action(
    parent: QObject,
    text: str,
    slot: Callable[..., object],
    shortcut: QKeySequence | QKeySequence.StandardKey | None = None,
    tip: str = "",
    checkable: bool = False,
) -> QAction:
    """An action with its shortcut (every binding the platform has for a standard key), its
    tooltip and status tip, connected to ``slot``."""
    action = QAction(text, parent)
    if isinstance(shortcut, QKeySequence.StandardKey):
        # Every binding the platform has: Redo is both Ctrl+Y and Ctrl+Shift+Z on Windows.
        action.setShortcuts(shortcut)
    elif shortcut is not None:
        action.setShortcut(shortcut)
    action.setToolTip(tip or text)
    action.setStatusTip(tip or text)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    return action


class Menus:
    """The window's actions, its menu bar and its toolbar. The actions' slots are the window's
    methods and the controller's; the window reaches them as ``window.menus.pause_action``."""

    def __init__(self, window: MainWindow) -> None:
        c = window.controller
        self.new_action = make_action(
            window,
            "&New bank",
            window._on_new,
            QKeySequence.StandardKey.New,
            "Start a new bank with one identity filter",
        )
        self.open_action = make_action(
            window,
            "&Open bank…",
            window._on_open_bank,
            QKeySequence("Ctrl+O"),
            "Open a bank file (JSON)",
        )
        self.save_action = make_action(
            window,
            "&Save bank",
            window._on_save,
            QKeySequence("Ctrl+S"),
            "Save the bank to its file",
        )
        self.save_as_action = make_action(
            window,
            "Save bank &as…",
            window._on_save_as,
            QKeySequence("Ctrl+Shift+S"),
            "Save the bank to a new file",
        )
        self.export_action = make_action(
            window,
            "&Export panes as PNG…",
            window._on_export,
            None,
            "Save a picture of the source and every feature map",
        )
        self.export_map_action = make_action(
            window,
            "Export selected &map…",
            window._on_export_map,
            None,
            "Save the selected filter's feature map at full resolution: .npy, 16-bit PNG or "
            "float TIFF",
        )
        self.import_action = make_action(
            window,
            "&Import trained weights…",
            window._on_import_weights,
            None,
            "A conv layer's weights (.npy, .npz, .safetensors, .onnx, .pt) as a bank",
        )
        self.import_model_action = make_action(
            window,
            "Import &model…",
            window._on_import_model,
            None,
            "A trained ONNX model's leading conv, pool and activation layers as a bank",
        )
        self.export_onnx_action = make_action(
            window,
            "Export as &ONNX…",
            window._on_export_onnx,
            None,
            "The whole bank as an ONNX model: a uint8 RGB frame in, every layer's maps out",
        )
        self.export_weights_action = make_action(
            window,
            "Export &weights…",
            window._on_export_weights,
            None,
            "The first layer's weights as .npz (weight, bias), in PyTorch or Keras layout",
        )
        self.record_action = make_action(
            window,
            "&Record panes to video…",
            window._on_record,
            None,
            "Record the source, the story and the feature maps to a video file (MJPG .avi)",
            checkable=True,
        )
        self.quit_action = make_action(window, "&Quit", window.close, QKeySequence.StandardKey.Quit)
        self.undo_action = make_action(window, "&Undo", c.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = make_action(window, "&Redo", c.redo, QKeySequence.StandardKey.Redo)
        self.pause_action = make_action(
            window,
            "&Freeze frame",
            window._on_pause,
            QKeySequence("Space"),
            "Freeze the current frame; edits keep updating the maps",
            checkable=True,
        )
        self.preview_action = make_action(
            window,
            "&Preview resolution for heavy banks",
            window._on_preview,
            None,
            "While a bank is too heavy for 15 fps, run it on a smaller copy of the frame (the "
            "status bar says so); a still or frozen frame then gets its exact maps",
            checkable=True,
        )
        self.open_image_action = make_action(
            window,
            "Open &image…",
            window._on_open_image,
            None,
            "Show an image file (or drop one on the window)",
        )
        self.open_video_action = make_action(
            window, "Open &video…", window._on_open_video, None, "Play a video file in a loop"
        )
        self.pin_action = make_action(
            window,
            "&Pin selected map as A",
            window.pin_selected,
            QKeySequence("Ctrl+Shift+A"),
            "Keep the selected filter's map as A; edit it and compare B with A",
        )
        self.unpin_action = make_action(
            window, "&Clear A", window.unpin, None, "Forget the pinned map"
        )
        self.retry_action = make_action(
            window,
            "&Retry source",
            c.retry_source,
            QKeySequence.StandardKey.Refresh,
            "Open the last source again: a camera plugged back in, a file put back",
        )

        menu = window.menuBar().addMenu("&File")
        for action in (self.new_action, self.open_action):
            menu.addAction(action)
        self.recent_menu = menu.addMenu("Open &recent")
        menu.addSeparator()
        for action in (
            self.save_action,
            self.save_as_action,
            self.export_action,
            self.export_map_action,
            self.record_action,
        ):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.import_action)
        menu.addAction(self.import_model_action)
        menu.addAction(self.export_weights_action)
        menu.addAction(self.export_onnx_action)
        self.snippet_menu = menu.addMenu("&Copy code for the first layer")
        for framework, label in (("pytorch", "PyTorch"), ("keras", "Keras"), ("numpy", "numpy")):
            action = self.snippet_menu.addAction(label)
            action.setStatusTip(f"Copy code that builds the first layer in {label}")
            action.triggered.connect(lambda _=False, f=framework: window.copy_snippet(f))
        menu.addSeparator()
        menu.addAction(self.quit_action)

        menu = window.menuBar().addMenu("&Edit")
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        menu.addSeparator()
        self.learn_action = menu.addAction("&Learn this kernel from an example…")
        self.learn_action.setStatusTip(
            "Fit the selected filter to a target map: at once, or step by step"
        )
        self.learn_action.triggered.connect(window.open_learn_dialog)

        source_menu = window.menuBar().addMenu("&Source")
        self.camera_menu = source_menu.addMenu("&Camera")
        self.camera_menu.aboutToShow.connect(window._on_camera_menu_about_to_show)
        source_menu.addAction(self.open_image_action)
        source_menu.addAction(self.open_video_action)
        self.pattern_menu = source_menu.addMenu("&Pattern")
        for name, description in PATTERNS.items():
            action = make_action(
                window,
                name.replace("-", " ").capitalize(),
                lambda _=False, n=name: window.controller.open_pattern(n),
                None,
                description,
            )
            self.pattern_menu.addAction(action)
        source_menu.addSeparator()
        source_menu.addAction(self.retry_action)
        source_menu.addAction(self.pause_action)

        self.lessons_menu = window.menuBar().addMenu("&Lessons")
        for lesson in LESSONS:
            action = make_action(
                window,
                lesson.title,
                lambda _=False, name=lesson.name: window.open_lesson(name),
                None,
                lesson.caption.splitlines()[0],
            )
            self.lessons_menu.addAction(action)
        self.slide_action = make_action(
            window,
            "&Slide the kernel",
            lambda: window.open_slide(),
            None,
            "Sweep the selected filter's kernels over the input, one output cell at a time",
        )
        self.lessons_menu.addSeparator()
        self.lessons_menu.addAction(self.slide_action)
        self.atlas_action = make_action(
            window,
            "Filter &atlas",
            lambda: window.open_atlas(),
            None,
            "Every filter of the selected layer as a tile of its kernels; click one to select it",
        )

        view_menu = self.view_menu = window.menuBar().addMenu("&View")
        view_menu.addAction(window.bank_dock.toggleViewAction())
        view_menu.addAction(window.kernel_dock.toggleViewAction())
        view_menu.addAction(window.probe_dock.toggleViewAction())
        view_menu.addAction(window.analysis_dock.toggleViewAction())
        view_menu.addAction(window.compare_dock.toggleViewAction())
        view_menu.addAction(window.slide_dock.toggleViewAction())
        view_menu.addAction(self.atlas_action)
        view_menu.addSeparator()
        view_menu.addAction(self.preview_action)
        view_menu.addSeparator()
        view_menu.addAction(self.pin_action)
        view_menu.addAction(self.unpin_action)

        toolbar = QToolBar("Main", window)
        toolbar.setObjectName("mainToolbar")
        for item in (
            self.open_action,
            self.save_action,
            None,
            self.undo_action,
            self.redo_action,
            None,
            self.open_image_action,
            self.open_video_action,
        ):
            if item is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(item)
        camera_button = toolbar.addAction("Camera")
        camera_button.setMenu(self.camera_menu)
        camera_button.setToolTip("Choose a camera and its resolution")
        pattern_button = toolbar.addAction("Pattern")
        pattern_button.setMenu(self.pattern_menu)
        pattern_button.setToolTip("Show a synthetic test pattern")
        for button_action in (camera_button, pattern_button):
            button = toolbar.widgetForAction(button_action)
            if isinstance(button, QToolButton):  # a click opens the menu, not the default action
                button_action.triggered.connect(lambda _=False, b=button: b.showMenu())
        toolbar.addAction(self.pause_action)
        toolbar.addAction(self.slide_action)
        toolbar.addAction(self.atlas_action)
        window.addToolBar(toolbar)
