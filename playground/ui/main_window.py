"""The main window: bank panel, kernel editor, source pane, channel story and feature maps.

Widgets read from and write to the controller; none of them runs a convolution or reads a
camera. Every widget takes immutable values and emits new ones (a new bank, a new kernel), and
this window is the only place that wires them to the controller.
"""

from __future__ import annotations

import contextlib
import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QActionGroup,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from playground import lessons
from playground.assets import resource_path
from playground.controller import Controller
from playground.controller.autosave import default_directory
from playground.controller.map_export import MAP_SUFFIXES
from playground.controller.pipeline import Result
from playground.controller.recorder import Recorder, RecordError
from playground.controller.session import Session, app_settings
from playground.engine import editing
from playground.engine.bank import Bank, ConvLayer, Filter
from playground.engine.bankfile import load_bank, png_with_bank, write_atomic
from playground.engine.errors import BankError
from playground.engine.onnx_export import export_onnx
from playground.engine.probe import Probe
from playground.engine.snapshot import is_snapshot
from playground.engine.weights import conv_tensors, export_npy, export_snippet, import_weights
from playground.ui.analysis_panel import KernelAnalysisPanel
from playground.ui.atlas import FilterAtlas
from playground.ui.bank_panel import BankPanel
from playground.ui.compare import ComparePanel
from playground.ui.kernel_editor import KernelEditor, default_channel_names, filter_channel_names
from playground.ui.learn_dialog import LearnDialog
from playground.ui.menus import Menus
from playground.ui.panes import ChannelStory, FeatureMapPane, PaneGrid
from playground.ui.probe_panel import ProbePanel
from playground.ui.slide import SlidePanel, footprint_rect, slide_frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
DEFAULT_BANK = ("banks", "edges-rgb.json")
DEFAULT_IMAGE = ("images", "coffee.jpg")
# File > Export selected map: the dialog's filters and the suffix each adds.
MAP_FILTERS = {
    "NumPy array, float32 (*.npy)": ".npy",
    "16-bit PNG, min to max (*.png)": ".png",
    "TIFF, float32 (*.tif)": ".tif",
}
# The slide zooms the panes in on the footprint when the input is wider or taller than this (a
# lesson's 8x8 shows whole).
_SLIDE_ZOOM_FROM = 64


class MainWindow(QMainWindow):
    """The Filter Playground window.

    ``open_camera``: try camera 0 at start (the app does; tests don't). The bundled sample image
    shows first, so there is always a picture, and the camera replaces it once it delivers.
    """

    def __init__(
        self,
        open_camera: bool = False,
        settings: QSettings | None = None,
        autosave_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Filter Playground")
        self.setAcceptDrops(True)
        self.session = Session(
            settings if settings is not None else app_settings(),
            autosave_dir if autosave_dir is not None else default_directory(),
            self,
        )
        self.controller = Controller(self._initial_bank(), self)
        self._build_widgets()
        self.menus = Menus(self)
        if self.session.preview():
            self.menus.preview_action.setChecked(True)
            self.controller.set_preview(True)
        self._fill_recent_menu()
        self._connect()
        self._restore_layout()
        self._on_bank_changed()
        self._offer_recovery()
        self._on_document_changed()
        self._on_selection_changed(*self.controller.selection)
        # Camera 0 is asked for once the sample image shows, and opens on the capture thread:
        # the sample stays until the camera delivers, and stays for good when there is none.
        self._cameras: list[int] | None = None  # the last search's cameras; None before one
        self._camera_at_launch = "after sample" if open_camera else ""
        self._lesson_source: str | None = None
        self.controller.open_image(resource_path(*DEFAULT_IMAGE))

    # --- construction -----------------------------------------------------------------------------

    def _initial_bank(self) -> Bank:
        self._initial_path: Path | None = None
        last = self.session.last_bank()
        if last is not None:
            try:
                bank = load_bank(last)
            except BankError:
                pass
            else:
                self._initial_path = last
                return bank
        return load_bank(resource_path(*DEFAULT_BANK))

    def _build_widgets(self) -> None:
        self.bank_panel = BankPanel(self.controller)
        self.kernel_editor = KernelEditor()
        self.source_pane = FeatureMapPane("Source")
        self.source_pane.setAutoStyle(False)
        self.story = ChannelStory()
        self.pane_grid = PaneGrid()

        # The story (filter = sum of its kernels' maps) spans the width on top; below it the
        # source sits left of the feature maps it feeds.
        maps = QSplitter(Qt.Orientation.Horizontal)
        maps.setObjectName("mapsSplitter")
        # The source keeps its aspect at the top of its column (height for width) instead of
        # stretching to the column's height with grey bars above and below the picture.
        source_column = QWidget()
        source_layout = QVBoxLayout(source_column)
        source_layout.setContentsMargins(0, 0, 0, 0)
        source_layout.addWidget(self.source_pane)
        source_layout.addStretch(1)
        maps.addWidget(source_column)
        maps.addWidget(self.pane_grid)
        maps.setStretchFactor(0, 1)
        maps.setStretchFactor(1, 3)
        self.lesson_banner = QLabel()
        self.lesson_banner.setObjectName("lessonBanner")
        self.lesson_banner.setWordWrap(True)
        self.lesson_banner.setTextFormat(Qt.TextFormat.RichText)
        self.lesson_banner.linkActivated.connect(lambda _link: self.open_slide())
        self.lesson_banner.setStyleSheet(
            "QLabel#lessonBanner { background: #fff7d6; border: 1px solid #e6c96a; padding: 6px; }"
        )
        self.lesson_banner.hide()
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.lesson_banner)
        top_layout.addWidget(self.story, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("centralSplitter")
        splitter.addWidget(top)
        splitter.addWidget(maps)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self._splitter = splitter
        self._maps_splitter = maps
        self.setCentralWidget(splitter)

        self.bank_dock = self._dock(
            "Bank", "bankDock", self.bank_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.kernel_dock = self._dock(
            "Kernel", "kernelDock", self.kernel_editor, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.probe_panel = ProbePanel()
        self.probe_dock = self._dock(
            "Probe", "probeDock", self.probe_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.splitDockWidget(self.kernel_dock, self.probe_dock, Qt.Orientation.Vertical)
        self.analysis_panel = KernelAnalysisPanel()
        self.analysis_dock = self._dock(
            "Kernel analysis",
            "analysisDock",
            self.analysis_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
        )
        # Analysis first: it answers "what will this kernel do" before any click on a map.
        self.tabifyDockWidget(self.probe_dock, self.analysis_dock)
        self.analysis_dock.raise_()
        self.compare_panel = ComparePanel()
        self.compare_dock = self._dock(
            "A/B compare", "compareDock", self.compare_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.compare_dock.hide()  # shown by the first pin
        # The docks at the bottom (compare, slide) span the maps, not the side docks: the
        # kernel editor and the bank keep their full height.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.slide_panel = SlidePanel()
        self.slide_dock = self._dock(
            "Slide", "slideDock", self.slide_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.slide_dock.hide()  # shown by Slide
        self.atlas = FilterAtlas()
        self.atlas_dock = self._dock(
            "Filter atlas", "atlasDock", self.atlas, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.tabifyDockWidget(self.slide_dock, self.atlas_dock)
        self.atlas_dock.hide()  # shown by Atlas
        self._atlas_shows: tuple[Bank, int] | None = None  # the bank and layer drawn
        self._slide: tuple[int, int] | None = None  # layer, filter the slide sweeps
        self._slide_zoomed = False  # the panes were zoomed in on the slide's footprint
        self._probe_target: tuple[int, int, int, int] | None = None  # layer, filter, x, y
        self._recorder: Recorder | None = None

        self._source_label = QLabel()
        self._size_label = QLabel()
        self._fps_label = QLabel()
        self._compute_label = QLabel()
        for label in (self._source_label, self._size_label, self._fps_label, self._compute_label):
            self.statusBar().addPermanentWidget(label)
        # Room for the longest text each label takes, so the bar does not jitter every update.
        metrics = self._fps_label.fontMetrics()
        self._fps_label.setMinimumWidth(metrics.horizontalAdvance("still frame") + 8)
        self._compute_label.setMinimumWidth(metrics.horizontalAdvance("compute 0000.0 ms") + 8)
        self._source_label.setToolTip("The source the feature maps are computed from")
        self._fps_label.setToolTip("Feature-map updates shown per second")
        self._compute_label.setToolTip("Time the compute thread spends on one frame")

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        # Closable: Qt greys out a dock's View-menu toggle unless the dock can be closed.
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        c = self.controller
        c.bankChanged.connect(self._on_bank_changed)
        c.documentChanged.connect(self._on_document_changed)
        c.selectionChanged.connect(self._on_selection_changed)
        c.resultReady.connect(self._on_result)
        c.bankOpened.connect(self._on_bank_opened)
        c.sourceChanged.connect(self._on_source_changed)
        c.sourceFailed.connect(self._on_source_failed)
        c.message.connect(self._show_message)
        c.camerasFound.connect(self._on_cameras_found)
        self.session.start(c)
        self.session.message.connect(self._show_message)
        self.session.recentChanged.connect(self._fill_recent_menu)
        c.statsChanged.connect(self._on_stats)
        c.resultDisplayed.connect(self._record_frame)
        self._connect_live_view()

        editor = self.kernel_editor
        editor.kernelEdited.connect(c.set_kernel)
        editor.kernelReplaced.connect(c.set_kernel)
        editor.kernelsReplaced.connect(c.set_kernels)
        editor.channelSelected.connect(lambda ch: c.select(c.selection[0], c.selection[1], ch))
        editor.kernelResizeRequested.connect(self._on_resize_kernel)
        editor.copyToAllChannelsRequested.connect(self._on_copy_to_all)
        editor.errorRaised.connect(self._show_message)

        self.pane_grid.paneClicked.connect(lambda layer, filt: c.select(layer, filt, 0))
        self.pane_grid.pixelClicked.connect(self.probe_at)
        # With the frame frozen the maps hold still, so the probe can follow the mouse.
        self.pane_grid.pixelHovered.connect(self._on_pixel_hovered)
        self.slide_panel.positionChanged.connect(self._on_slide_position)
        self.atlas.filterClicked.connect(self._on_atlas_clicked)
        # A slide playing in a closed dock would move the probe and the panes' outlines unseen.
        self.slide_dock.visibilityChanged.connect(
            lambda shown: None if shown else self.slide_panel.pause()
        )
        self.atlas_dock.visibilityChanged.connect(lambda _shown: self._update_atlas())

    # --- controller -> widgets --------------------------------------------------------------------

    def _frame_size(self) -> tuple[int, int] | None:
        result = self.controller.last_result
        return None if result is None else result.frame.shape[:2]

    def _on_bank_changed(self) -> None:
        bank = self.controller.bank
        self.bank_panel.setInputSize(self._frame_size())
        sections = []
        counts = bank.channels()
        for n, layer in enumerate(bank.layers):
            if isinstance(layer, ConvLayer):
                names = [f.name or f"filter {i + 1}" for i, f in enumerate(layer.filters)]
                title = layer.name or f"layer {n + 1}"
            else:
                names = [f"{layer.op} pool · ch {i + 1}" for i in range(counts[n + 1])]
                title = layer.name or f"layer {n + 1} (pool)"
            size = self._frame_size()
            if size is not None:
                # A stack that shrinks to nothing says so on its panes instead.
                with contextlib.suppress(BankError):
                    title = f"{n + 1} · {title} — " + editing.describe_layer(bank, n, *size)
            sections.append((title, names))
        self.pane_grid.setSections(sections)
        self._schedule_visible_update()
        self._update_editor()
        self._update_atlas()

    def _update_editor(self) -> None:
        layer, filt, channel = self.controller.selection
        conv = self.controller.bank.layers[layer]
        self.kernel_dock.setEnabled(isinstance(conv, ConvLayer))
        if not isinstance(conv, ConvLayer):
            self.analysis_panel.clear("A pool layer has no kernel: select a conv filter.")
        if isinstance(conv, ConvLayer):
            f = conv.filters[filt]
            self.kernel_editor.setFilter(
                np.asarray(f.kernels), channel, filter_channel_names(conv, filt)
            )
            self.analysis_panel.setKernel(np.asarray(f.kernels[channel]), np.asarray(f.kernels))
            self.story.setStory(
                f.name or f"filter {filt + 1}",
                filter_channel_names(conv, filt),
                f.bias,
                conv.activation,
                np.asarray(f.kernels),
                colour=layer == 0 and self.controller.bank.input == "rgb",
            )

    def _on_selection_changed(self, layer: int, filt: int, channel: int) -> None:
        if filt >= 0:
            self.pane_grid.setSelected(layer, filt)
        self._update_editor()
        self._update_atlas()

    # --- filter atlas -----------------------------------------------------------------------

    def open_atlas(self) -> None:
        """Show every filter of the selected layer as tiles."""
        self._show_bottom_dock(self.atlas_dock)
        self._update_atlas()

    def _show_bottom_dock(self, dock: QDockWidget) -> None:
        """Show and raise the slide's or the atlas's dock; when it opens, give it two fifths
        of the window's height (a lesson's padded 8x8 at a readable size, 64 tiles in four
        rows), once it is laid out: before, the main window ignores the size."""
        if dock.isHidden():
            dock.show()
            height = max(360, self.height() * 2 // 5)
            QTimer.singleShot(
                0, lambda: self.resizeDocks([dock], [height], Qt.Orientation.Vertical)
            )
        dock.raise_()

    def _update_atlas(self) -> None:
        # Built on a bank or layer change only, and only while the atlas shows: a weight drag
        # makes a bank per move.
        if self.atlas_dock.isHidden():
            return
        bank = self.controller.bank
        layer, filt, _ = self.controller.selection
        spec = bank.layers[layer]
        shows = self._atlas_shows
        if shows is None or shows[0] is not bank or shows[1] != layer:
            self._atlas_shows = (bank, layer)
            if not isinstance(spec, ConvLayer):
                self.atlas.clear(f"Layer {layer + 1} is a pool layer: it has no filters.")
            else:
                self.atlas.setLayer(
                    f"{layer + 1} · {spec.name or f'layer {layer + 1}'}",
                    [np.asarray(f.kernels) for f in spec.filters],
                    [f.name or f"filter {i + 1}" for i, f in enumerate(spec.filters)],
                    colour=layer == 0 and bank.input == "rgb",
                )
        self.atlas.setSelected(filt)

    def _on_atlas_clicked(self, index: int) -> None:
        self.controller.select(self.controller.selection[0], index, 0)

    def _on_document_changed(self) -> None:
        doc = self.controller.document
        name = doc.path.name if doc.path is not None else "untitled"
        self.setWindowTitle(f"{name}[*] — Filter Playground")
        self.setWindowModified(doc.dirty)
        self.menus.undo_action.setEnabled(doc.can_undo())
        self.menus.redo_action.setEnabled(doc.can_redo())
        self.menus.undo_action.setText(f"&Undo {doc.undo_label()}".strip())
        self.menus.redo_action.setText(f"&Redo {doc.redo_label()}".strip())
        # The menu names the step; the toolbar button stays short (the tooltip names it).
        self.menus.undo_action.setIconText("Undo")
        self.menus.redo_action.setIconText("Redo")
        self.menus.undo_action.setToolTip(self.menus.undo_action.text().replace("&", ""))
        self.menus.redo_action.setToolTip(self.menus.redo_action.text().replace("&", ""))

    # --- autosave ------------------------------------------------------------------------------

    def _offer_recovery(self) -> None:
        """After a session that did not end cleanly, offer its unsaved bank back."""
        found = self.session.recover()
        if found is None:
            return
        name = found.origin.name if found.origin is not None else "an untitled bank"
        answer = QMessageBox.question(
            self,
            "Restore unsaved changes",
            f"Filter Playground did not close normally. Restore your unsaved changes to {name} "
            f"(autosaved {found.written:%Y-%m-%d %H:%M})?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        # Restored or declined, the orphan is dealt with; a restored bank is this window's now
        # and its own autosave keeps it.
        self.session.autosave.discard(found.folder)
        if answer != QMessageBox.StandardButton.Yes:
            return
        origin = found.origin
        if origin is not None and self.controller.open_bank(origin):
            self.controller.set_bank(found.bank, "Restore autosaved changes")
        else:
            self.controller.new_bank(found.bank)
            # Unsaved, whatever it matches: the user decides where it goes.
            self.controller.document.forget_saved()
        self._show_message(f"Restored your unsaved changes to {name}")

    def _on_result(self, result: Result) -> None:
        if not self.source_pane.shows(result.source):
            self.source_pane.setMap(result.source)
        height, width = result.frame.shape[:2]
        size = f"{width}×{height}"
        factor = result.preview_factor
        size_text = size if factor == 1 else f"{size} · preview 1/{factor}"
        if size_text != self._size_label.text():
            self._size_label.setText(size_text)
            self._size_label.setToolTip(
                ""
                if factor == 1
                else f"The bank is too heavy for camera rate: the maps are made on the frame "
                f"shrunk to {width // factor}×{height // factor}. Freeze the frame for its "
                "exact maps, or turn off View ▸ Preview resolution."
            )
            self._on_bank_changed()  # the layer titles and settings say their output sizes
        if result.error is not None:
            for n in range(self.pane_grid.sectionCount()):
                for i in range(self.pane_grid.paneCount(n)):
                    self.pane_grid.pane(n, i).setMessage(result.error)
            for pane in (*self.story.panes(), self.story.colourPane()):
                pane.setMessage(result.error)
            return
        assert result.outputs is not None
        for n, layer_maps in enumerate(result.maps[: self.pane_grid.sectionCount()]):
            for i, shown in enumerate(layer_maps[: self.pane_grid.paneCount(n)]):
                pane = self.pane_grid.pane(n, i)
                if shown.display is not None:
                    if not pane.shows(shown):
                        pane.setMap(shown)
                else:  # off screen, not reduced
                    pane.followMap(shown.full)
        if self._probe_target is not None:
            self._update_probe(result)  # the probed pixel follows the live frames
        if self._slide is not None:
            self._update_slide(result)
        pinned = self.compare_panel.target()
        if pinned is not None:
            layer, filt = pinned
            # The pinned map is always reduced (the job names it), but a result from before the
            # pin did not know of it.
            if layer < len(result.maps) and filt < len(result.maps[layer]):
                b_map = result.maps[layer][filt]
                if b_map.display is not None:
                    self.compare_panel.setB(b_map, result.difference)
        story = result.story
        if story is not None:
            self.story.setMaps(story.partials, story.total, story.biased, story.activated)
        self._update_display_size()

    def open_learn_dialog(self) -> LearnDialog:
        # One dialog at a time: reopening raises it. A closed one is hidden until its deferred
        # delete, so only a visible one counts.
        open_ones = [d for d in self.findChildren(LearnDialog) if d.isVisible()]
        if open_ones:
            open_ones[0].raise_()
            open_ones[0].activateWindow()
            return open_ones[0]
        dialog = LearnDialog(self.controller, self)
        dialog.setModal(False)
        dialog.show()
        return dialog

    # --- lessons ----------------------------------------------------------------------------

    def open_lesson(self, name: str) -> bool:
        """Load a lesson's source and bank, and show its caption above the story."""
        if not self._confirm_discard():
            return False
        lesson = lessons.get(name)
        try:
            bank = lesson.load_bank()
        except BankError as e:
            self._show_message(str(e))
            return False
        self.controller.new_bank(bank)
        if self._slide is not None:
            self._slide = None
            self.slide_panel.clear("A new lesson: press Slide to sweep its kernel.")
        self._lesson_source = None  # the next source shown is the lesson's own
        if lesson.pattern is not None:
            self.controller.open_pattern(lesson.pattern)
        else:
            self.controller.open_source(lesson.source())
        what, try_this = lesson.caption.splitlines()
        self.lesson_banner.setText(
            f"<b>{html.escape(lesson.title)}</b><br>{html.escape(what)}<br>"
            f"<i>{html.escape(try_this)}</i><br>"
            '<a href="slide">▶ Slide the kernel over the image</a>'
        )
        if self.lesson_banner.isHidden():
            self.lesson_banner.show()
            # The caption takes its height from the maps below, not from the story's panes.
            top, rest = self._splitter.sizes()
            extra = self.lesson_banner.heightForWidth(self.story.width()) + 8
            self._splitter.setSizes([top + extra, max(100, rest - extra)])
        return True

    # --- A/B compare ----------------------------------------------------------------------

    def pin_selected(self) -> bool:
        """Pin the selected filter's map, as last displayed, as A."""
        layer, filt, _ = self.controller.selection
        a = self.controller.pin(layer, filt) if filt >= 0 else None
        if a is None:
            self._show_message("select a conv filter whose feature map is shown, then pin it")
            return False
        spec = self.controller.bank.layers[layer]
        assert isinstance(spec, ConvLayer)
        name = spec.filters[filt].name or f"filter {filt + 1}"
        self.compare_panel.pinA(layer, filt, a, f"{layer + 1} · {name}")
        self.compare_dock.show()
        return True

    def unpin(self) -> None:
        """Forget the pinned map: the worker stops computing B − A."""
        self.controller.unpin()
        self.compare_panel.clearA()

    # --- probe ------------------------------------------------------------------------------

    def _on_pixel_hovered(self, layer: int, index: int, x: int, y: int) -> None:
        if self.controller.paused:
            self.probe_at(layer, index, x, y)

    def probe_at(self, layer: int, index: int, x: int, y: int) -> None:
        """Show the arithmetic behind pixel (x, y) of layer ``layer``'s map ``index`` (0-based),
        outline its footprint on the input it reads, and keep it live until another click."""
        self._probe_target = (layer, index, x, y)
        self.probe_dock.raise_()  # in front of the analysis it shares the dock area with
        result = self.controller.last_result
        if result is not None:
            self._update_probe(result)

    def _update_probe(self, result: Result) -> None:
        assert self._probe_target is not None
        layer, index, x, y = self._probe_target
        run = result.run
        if run is None or run.bank is None or layer >= len(run.outputs):
            self._clear_probe("No feature map to probe: the bank has no output on this source.")
            return
        layer_input = run.inputs if layer == 0 else run.outputs[layer - 1]
        assert isinstance(layer_input, np.ndarray)  # only the last layer's may be a MapStack
        try:
            probe = run.bank.probe(None, layer + 1, index + 1, y, x, layer_input=layer_input)
        except BankError as e:
            self._clear_probe(str(e))
            return
        spec = run.bank.layers[layer]
        if isinstance(spec, ConvLayer):
            f = spec.filters[index]
            title = f"{layer + 1} · {f.name or f'filter {index + 1}'}"
        else:
            title = f"{layer + 1} · {spec.op} pool · ch {index + 1}"
        self.probe_panel.setProbe(probe, title, self._input_names(layer, layer_input.shape[0]))
        footprint = footprint_rect(probe)
        self._clear_markers()
        for pane in self._input_panes(layer, layer_input.shape[0]):
            pane.setMarker(footprint)
        self.pane_grid.pane(layer, index).setMarker(QRectF(x, y, 1, 1), QColor(0, 200, 255))

    def _input_names(self, layer: int, count: int) -> list[str]:
        """The names of layer ``layer``'s input channels: the colours, or the maps before."""
        if layer == 0:
            return default_channel_names(count)
        return [self.pane_grid.pane(layer - 1, c).title() for c in range(count)]

    def _input_panes(self, layer: int, count: int) -> list[FeatureMapPane]:
        """The panes showing layer ``layer``'s input: the source, or the layer before's maps."""
        if layer == 0:
            return [self.source_pane]
        shown = min(count, self.pane_grid.paneCount(layer - 1))
        return [self.pane_grid.pane(layer - 1, c) for c in range(shown)]

    # --- slide ------------------------------------------------------------------------------

    def open_slide(self) -> bool:
        """Sweep the selected conv filter over its input on the frozen frame: the Slide dock
        steps through every output position, with the probe's arithmetic at each."""
        layer, filt, _ = self.controller.selection
        spec = self.controller.bank.layers[layer]
        result = self.controller.last_result
        if not isinstance(spec, ConvLayer) or filt < 0:
            self._show_message("select a conv filter to slide (a pool layer has no kernel)")
            return False
        if result is None or result.run is None or layer >= len(result.run.outputs):
            self._show_message("no feature map to slide over: the bank has no output yet")
            return False
        if not self.controller.paused:
            # The slide explains one frame: a live source would change it under the footprint.
            self.menus.pause_action.setChecked(True)
            self._on_pause(True)
        self._slide = (layer, filt)
        self._show_bottom_dock(self.slide_dock)
        output = result.run.outputs[layer][filt]
        self._slide_zoomed = False
        self.slide_panel.setTarget(self._slide_title(layer, filt), output.shape)
        return True

    def _slide_title(self, layer: int, filt: int) -> str:
        spec = self.controller.bank.layers[layer]
        assert isinstance(spec, ConvLayer)
        name = spec.filters[filt].name or f"filter {filt + 1}"
        (sy, sx), (dy, dx) = spec.stride, spec.dilation
        return (
            f"<b>{html.escape(f'{layer + 1} · {name}')}</b>: stride {sy}×{sx}, dilation "
            f"{dy}×{dx}, padding {html.escape(str(spec.padding))}, border {spec.border}. "
            "At each position the kernels multiply the input under them (hatched cells are "
            "padding, filled by the border) and everything is added up into one output cell."
        )

    def _on_slide_position(self, y: int, x: int) -> None:
        if self._slide is None:
            return
        layer, filt = self._slide
        self.probe_at(layer, filt, x, y)
        result = self.controller.last_result
        if result is not None:
            self._show_slide_frame(result)

    def _update_slide(self, result: Result) -> None:
        """A new result (an edit on the frozen frame): the slide shows its numbers, over an
        output that may have a new size."""
        assert self._slide is not None
        layer, filt = self._slide
        run = result.run
        spec = (
            self.controller.bank.layers[layer] if layer < len(self.controller.bank.layers) else None
        )
        if (
            run is None
            or not isinstance(spec, ConvLayer)
            or layer >= len(run.outputs)
            or filt >= len(run.outputs[layer])
        ):
            self._slide = None
            self.slide_panel.clear("The filter the slide swept is gone: select one and Slide.")
            return
        shape = run.outputs[layer][filt].shape
        if shape != self.slide_panel.outputShape():
            self.slide_panel.setTarget(self._slide_title(layer, filt), shape)
        else:
            self._show_slide_frame(result)

    def _show_slide_frame(self, result: Result) -> None:
        assert self._slide is not None
        layer, filt = self._slide
        probe = self.probe_panel.probe()
        run = result.run
        if probe is None or run is None or run.bank is None:
            return
        if (probe.layer, probe.filter, probe.y, probe.x) != (
            layer + 1,
            filt + 1,
            *self.slide_panel.position(),
        ):
            return  # the probe moved to a pixel clicked elsewhere
        spec = run.bank.layers[layer]
        assert isinstance(spec, ConvLayer)
        layer_input = run.inputs if layer == 0 else run.outputs[layer - 1]
        assert isinstance(layer_input, np.ndarray)  # only the last layer's may be a MapStack
        count = layer_input.shape[0]
        frame = slide_frame(
            probe,
            spec,
            layer_input,
            run.outputs[layer][filt],
            self._input_names(layer, count),
            self.slide_panel.windowCells(count),
        )
        self.slide_panel.setFrame(frame)
        self._follow_footprint(probe, layer_input.shape, layer, filt)

    def _follow_footprint(
        self, probe: Probe, input_shape: tuple[int, ...], layer: int, filt: int
    ) -> None:
        """On a large frame, zoom the input and output panes in on the footprint at the
        slide's start and keep it in view as it moves."""
        footprint = footprint_rect(probe)
        cell = QRectF(probe.x, probe.y, 1, 1)
        panes = [(p, footprint) for p in self._input_panes(layer, input_shape[0])]
        panes.append((self.pane_grid.pane(layer, filt), cell))
        for pane, rect in panes:
            if not self._slide_zoomed and max(input_shape[1:]) > _SLIDE_ZOOM_FROM:
                scale = max(10.0, min(40.0, 200.0 / max(rect.width(), rect.height())))
                pane.zoomTo(scale, rect.center())
            elif pane.isZoomed() and not pane.viewBox().viewRect().contains(rect):
                pane.zoomTo(pane.zoomScale(), rect.center())
        self._slide_zoomed = True

    def _clear_probe(self, text: str) -> None:
        self._probe_target = None
        self._clear_markers()
        self.probe_panel.clear(text)

    def _clear_markers(self) -> None:
        self.source_pane.setMarker(None)
        for n, count in enumerate(self.controller.bank.channels()[1:]):
            for i in range(count):
                self.pane_grid.pane(n, i).setMarker(None)

    def _update_display_size(self) -> None:
        # Maps are reduced to the largest pane's on-screen image size on the compute thread.
        # Device pixels, so a HiDPI screen gets maps as sharp as it can show.
        views = [p.graphicsView() for p in (self.pane_grid.pane(0, 0), *self.story.panes()[:1])]
        ratio = self.devicePixelRatioF()
        width = max(v.width() for v in views)
        height = max(v.height() for v in views)
        self.controller.set_display_size(round(width * ratio), round(height * ratio))

    # --- the live view: what is on screen, and what is slow ---------------------------------

    def _connect_live_view(self) -> None:
        # The worker reduces only the panes on screen and computes the story only when it
        # shows; the grid says which after a scroll, a resize or new sections (coalesced).
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(30)
        self._visible_timer.timeout.connect(self._update_visible_panes)
        scroll = self.pane_grid.verticalScrollBar()
        scroll.valueChanged.connect(self._schedule_visible_update)
        scroll.rangeChanged.connect(self._schedule_visible_update)
        self._splitter.splitterMoved.connect(self._schedule_visible_update)
        self._maps_splitter.splitterMoved.connect(self._schedule_visible_update)
        self.controller.busyChanged.connect(self._on_busy_changed)
        self._schedule_visible_update()

    def _schedule_visible_update(self, *_args: object) -> None:
        self._visible_timer.start()

    def _update_visible_panes(self) -> None:
        if not self.isVisible():
            self.controller.set_visible(None, True)  # nothing is on screen to choose by
            return
        story_shown = self.story.isVisible() and not self.story.visibleRegion().isEmpty()
        self.controller.set_visible(self.pane_grid.visiblePanes(), story_shown)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._schedule_visible_update()

    def _on_busy_changed(self, text: str) -> None:
        # A slow computation or a large file being opened: say so until it is done.
        if text:
            self.statusBar().showMessage(text)
        elif self.statusBar().currentMessage() == self._busy_shown:
            self.statusBar().clearMessage()
        self._busy_shown = text

    _busy_shown = ""

    def _on_source_changed(self, description: str) -> None:
        if self._camera_at_launch == "after sample":
            self._camera_at_launch = "opening"
            self.controller.open_camera(0)
        elif self._camera_at_launch == "opening":
            self._camera_at_launch = ""  # the camera delivered, or the user chose a source
        if not self.lesson_banner.isHidden():
            # The caption explains the lesson's source: another source makes it stale.
            if self._lesson_source is None:
                self._lesson_source = description
            elif description != self._lesson_source:
                self.lesson_banner.hide()
        self._source_label.setText(description)
        self.source_pane.setTitle(f"Source · {description}")
        self.statusBar().showMessage(f"Showing {description}", 4000)

    def _on_source_failed(self, message: str) -> None:
        if self._camera_at_launch == "opening":
            # No camera at launch is no error: the sample image is the bundled default.
            self._camera_at_launch = ""
            self._show_message("No camera found: showing the sample image")
            return
        # The last good frame stays on screen; say what happened and the way out.
        self._show_message(f"{message} — Source ▸ Retry source, or pick another source")

    def _on_preview(self, enabled: bool) -> None:
        self.controller.set_preview(enabled)
        self.session.set_preview(enabled)

    def _on_stats(self, fps: float, compute_ms: float) -> None:
        # A still image or a frozen frame shows nothing new until an edit: say why, not "0 fps".
        self._fps_label.setText(f"{fps:.0f} fps" if fps > 0 else "still frame")
        self._compute_label.setText(f"compute {compute_ms:.1f} ms")

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    # --- user actions -----------------------------------------------------------------------------

    def _on_resize_kernel(self, kh: int, kw: int) -> None:
        layer, filt, _ = self.controller.selection
        self.controller.edit(
            lambda b: editing.resize_filter(b, layer, filt, kh, kw), f"Resize kernel to {kh}×{kw}"
        )

    def _on_copy_to_all(self) -> None:
        layer, filt, channel = self.controller.selection
        self.controller.edit(
            lambda b: editing.copy_kernel_to_all_channels(b, layer, filt, channel),
            "Copy kernel to all channels",
        )

    def _on_pause(self, checked: bool) -> None:
        self.controller.set_paused(checked)

    def _on_camera_menu_about_to_show(self) -> None:
        # The list shown is the last search's; a new search runs off the GUI thread and
        # refreshes the menu (a camera plugged in since appears while the menu is open).
        self._fill_camera_menu(self._cameras)
        self.controller.find_cameras()

    def _on_cameras_found(self, cameras: list[int]) -> None:
        self._cameras = cameras
        self._fill_camera_menu(cameras)

    def _fill_camera_menu(self, cameras: list[int] | None) -> None:
        self.menus.camera_menu.clear()
        if not cameras:
            text = "Looking for cameras…" if cameras is None else "No camera found"
            self.menus.camera_menu.addAction(text).setEnabled(False)
            return
        for index in cameras:
            sub = self.menus.camera_menu.addMenu(self.controller.camera_name(index))
            group = QActionGroup(sub)
            for width, height in self.controller.camera_sizes(index):
                action = sub.addAction(f"{width}×{height}")
                group.addAction(action)
                action.triggered.connect(
                    lambda _=False, i=index, s=(width, height): self.controller.open_camera(i, s)
                )

    def _dialog_dir(self) -> str:
        return self.session.dialog_dir()

    def _remember_dir(self, path: str) -> None:
        self.session.remember_dir(path)

    def _on_open_image(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open image", self._dialog_dir(), f"Images ({patterns});;All files (*)"
        )
        if path:
            self._remember_dir(path)
            self.controller.open_image(path)

    def _on_open_video(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open video", self._dialog_dir(), f"Videos ({patterns});;All files (*)"
        )
        if path:
            self._remember_dir(path)
            self.controller.open_video(path)

    def _on_new(self) -> None:
        if not self._confirm_discard():
            return
        identity = np.zeros((3, 3, 3))
        identity[:, 1, 1] = 1 / 3
        self.controller.new_bank(
            Bank((ConvLayer((Filter(identity, 0.0, "identity"),), padding="same"),))
        )

    def _on_open_bank(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open bank",
            self._dialog_dir(),
            "Filter banks (*.json);;Snapshots with a bank (*.png);;All files (*)",
        )
        if path:
            self._remember_dir(path)
            self.open_bank(path)

    def open_bank(self, path: str | Path) -> bool:
        """Open a bank file; once it is open (`_on_bank_opened`) it goes among the recent
        banks. False when it was refused at once."""
        return self.controller.open_bank(path)

    def _on_bank_opened(self, path: str) -> None:
        self.session.add_recent(Path(path))
        self.lesson_banner.hide()

    def _on_save(self) -> bool:
        if self.controller.document.path is None:
            return self._on_save_as()
        return self.controller.save_bank()

    def _on_save_as(self) -> bool:
        start = self.controller.document.path or Path(self._dialog_dir()) / "bank.json"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save bank as", str(start), "Filter banks (*.json)"
        )
        if not path:
            return False
        if not path.lower().endswith(".json"):
            path += ".json"
        self._remember_dir(path)
        if self.controller.save_bank(path):
            self.session.add_recent(Path(path))
            return True
        return False

    def _on_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export panes as PNG",
            str(Path(self._dialog_dir()) / "feature-maps.png"),
            "PNG images (*.png)",
        )
        if path:
            self.export_png(path)

    def export_png(self, path: str | Path) -> bool:
        """Save a picture of the source, the channel story and every feature map, with the bank
        embedded in the PNG's metadata: File ▸ Open bank reopens it as the bank."""
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self._splitter.grab().save(buffer, "PNG"):
            self._show_message(f"cannot encode the picture for {path}")
            return False
        try:
            write_atomic(path, png_with_bank(bytes(data.data()), self.controller.bank))
        except BankError as e:
            self._show_message(str(e))
            return False
        self._show_message(f"Exported {path} (the bank is inside: open it as a bank)")
        return True

    def _on_export_map(self) -> None:
        layer, filt, _ = self.controller.selection
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export selected map",
            str(Path(self._dialog_dir()) / f"layer{layer + 1}-filter{filt + 1}.npy"),
            ";;".join(MAP_FILTERS),
        )
        if path:
            if Path(path).suffix.lower() not in MAP_SUFFIXES:
                path += MAP_FILTERS.get(chosen, ".npy")
            self._remember_dir(path)
            self.export_map_file(path)

    def export_map_file(self, path: str | Path) -> bool:
        """Write the selected filter's map at full resolution to ``path`` (its suffix picks
        .npy, 16-bit .png or float .tif), off the GUI thread; the status bar says when it is
        written or why not."""
        layer, filt, _ = self.controller.selection
        return filt >= 0 and self.controller.export_map(layer, filt, path)

    # --- weights exchange -------------------------------------------------------------------

    def _on_import_weights(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Import trained weights",
            self._dialog_dir(),
            "Conv weights (*.npy *.npz *.safetensors *.onnx *.pt *.pth);;All files (*)",
        )
        if path:
            self._remember_dir(path)
            self.import_weights_file(path)

    def _on_import_model(self) -> None:
        if not self._confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Import model", self._dialog_dir(), "ONNX models (*.onnx);;All files (*)"
        )
        if path:
            self._remember_dir(path)
            self.lesson_banner.hide()
            self.controller.import_model(path)

    def import_weights_file(self, path: str | Path) -> bool:
        """Open a file of trained conv weights as a new, unsaved bank. Asks for the layout
        when the shape does not tell, and for the tensor when the file holds several."""
        options: dict[str, str] = {}
        for _ in range(3):  # at most: choose the tensor, then the layout
            try:
                bank = import_weights(path, **options)
            except BankError as e:
                message = str(e)
                if "ambiguous" in message and "layout" not in options:
                    layouts = ["torch (C_out, C_in, kh, kw)", "keras (kh, kw, C_in, C_out)"]
                    choice, ok = QInputDialog.getItem(
                        self, "Weight layout", f"{message}\nThe array's layout:", layouts, 0, False
                    )
                    if not ok:
                        return False
                    options["layout"] = choice.split()[0]
                    continue
                if "array=" in message and "array" not in options:
                    tensors = conv_tensors(path)
                    items = [f"{name} {tuple(shape)}" for name, shape in tensors]
                    choice, ok = QInputDialog.getItem(
                        self, "Which weights", "The conv weights to import:", items, 0, False
                    )
                    if not ok:
                        return False
                    options["array"] = tensors[items.index(choice)][0]
                    continue
                self._show_message(message)
                return False
            self.controller.new_bank(bank)
            self.controller.document.forget_saved()
            self.lesson_banner.hide()
            self._show_message(f"Imported {Path(path).name}: {bank.channels()[1]} filters")
            return True
        return False

    def _on_export_weights(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export weights",
            str(Path(self._dialog_dir()) / "weights.npz"),
            "PyTorch layout (*.npz);;Keras layout (*.npz)",
        )
        if path:
            self.export_weights_file(path, "keras" if chosen.startswith("Keras") else "torch")

    def export_weights_file(self, path: str | Path, layout: str) -> bool:
        try:
            written = export_npy(self.controller.bank, path, layout)
        except BankError as e:
            self._show_message(str(e))
            return False
        self._show_message(f"Exported the first layer's weights to {written} ({layout} layout)")
        return True

    def _on_export_onnx(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export as ONNX",
            str(Path(self._dialog_dir()) / f"{self.controller.bank.name or 'bank'}.onnx"),
            "ONNX models (*.onnx)",
        )
        if path:
            if not path.lower().endswith(".onnx"):
                path += ".onnx"
            self.export_onnx_file(path)

    def export_onnx_file(self, path: str | Path) -> bool:
        """Write the whole bank as an ONNX model (uint8 RGB frame in, every layer's maps out)."""
        try:
            written = export_onnx(self.controller.bank, path)
        except BankError as e:
            self._show_message(str(e))
            return False
        self._show_message(
            f"Exported the bank to {written}: input 'frame', uint8 RGB (height, width, 3); "
            f"outputs layer1 … layer{len(self.controller.bank.layers)}"
        )
        return True

    def copy_snippet(self, framework: str) -> bool:
        """Put code that builds the first layer (with its weights) on the clipboard."""
        try:
            code = export_snippet(self.controller.bank, framework)
        except BankError as e:
            self._show_message(str(e))
            return False
        QApplication.clipboard().setText(code)
        self._show_message(f"Copied {framework} code for the first layer to the clipboard")
        return True

    # --- recording --------------------------------------------------------------------------

    def _on_record(self, checked: bool) -> None:
        if not checked:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Record panes to video",
            str(Path(self._dialog_dir()) / "feature-maps.avi"),
            "Motion JPEG video (*.avi)",
        )
        if not path or not self.start_recording(path):
            self.menus.record_action.setChecked(False)

    def start_recording(self, path: str | Path) -> bool:
        """Record the panes to ``path`` (MJPG in AVI) until `stop_recording`: the video lasts
        as long as the recording, whatever rate the panes were updated at."""
        if self._recorder is not None:
            self.stop_recording()
        size = self._splitter.size() * self.devicePixelRatioF()
        try:
            self._recorder = Recorder(path, (size.width() // 2 * 2, size.height() // 2 * 2))
        except RecordError as e:
            self._show_message(str(e))
            return False
        self.menus.record_action.setChecked(True)
        self._show_message(f"Recording to {path}")
        self._record_frame()  # the panes as they are now open the video
        return True

    def stop_recording(self) -> int:
        """Close the video; returns the number of frames written."""
        if self._recorder is None:
            return 0
        recorder, self._recorder = self._recorder, None
        frames = recorder.stop()
        self.menus.record_action.setChecked(False)
        seconds = frames / recorder.fps
        self._show_message(f"Recorded {seconds:.1f} s ({frames} frames) to {recorder.path}")
        return frames

    def _record_frame(self) -> None:
        if self._recorder is None:
            return
        # The grab is the window's size, not the image's; the recorder thread scales and
        # encodes it.
        image = self._splitter.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        rgb = (
            np.frombuffer(image.constBits(), np.uint8)
            .reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
            .reshape(image.height(), image.width(), 3)
        )
        self._recorder.add(rgb.copy())  # the QImage's buffer dies with it

    # --- recent banks and layout ------------------------------------------------------------------

    def _fill_recent_menu(self) -> None:
        self.menus.recent_menu.clear()
        recent = self.session.recent()
        for p in recent:
            action = self.menus.recent_menu.addAction(p.name)
            action.setToolTip(str(p))
            action.setStatusTip(str(p))
            action.triggered.connect(
                lambda _=False, p=p: self._confirm_discard() and self.open_bank(p)
            )
        self.menus.recent_menu.setEnabled(bool(recent))

    def _restore_layout(self) -> None:
        geometry = self.session.layout("geometry")
        state = self.session.layout("state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        if state is not None:
            self.restoreState(state)
        for key, splitter, sizes in (
            # The feature maps get most of the height, the story the rest; the source pane
            # a third of the width, so a photo shows at a size one can read beside two columns
            # of maps.
            ("story_splitter", self._splitter, [200, 700]),
            ("maps_splitter", self._maps_splitter, [340, 660]),
        ):
            saved = self.session.layout(key)
            if not (saved is not None and splitter.restoreState(saved)):
                splitter.setSizes(sizes)
        if self._initial_path is not None:
            self.controller.document.mark_saved(self._initial_path)

    # --- drag and drop, closing -------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
                event.acceptProposedAction()
                return

    def open_path(self, path: str | Path) -> bool:
        """Open what a dropped file is: a bank (.json), a snapshot PNG (for the bank it
        carries, as File > Open bank does), a video, or an image."""
        suffix = Path(path).suffix.lower()
        if suffix == ".json" or (suffix == ".png" and is_snapshot(Path(path))):
            return self._confirm_discard() and self.open_bank(path)
        if suffix in VIDEO_SUFFIXES:
            return self.controller.open_video(path)
        return self.controller.open_image(path)

    def _confirm_discard(self) -> bool:
        """True when there are no unsaved changes, or the user saved or discarded them."""
        if not self.controller.document.dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "The bank has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self._on_save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._confirm_discard():
            event.ignore()
            return
        self.session.save_layout("geometry", self.saveGeometry())
        self.session.save_layout("state", self.saveState())
        self.session.save_layout("story_splitter", self._splitter.saveState())
        self.session.save_layout("maps_splitter", self._maps_splitter.saveState())
        self.stop_recording()
        self.session.close()  # saved or discarded: nothing left to restore
        self.controller.close()
        event.accept()
