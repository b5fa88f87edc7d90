"""Preview resolution: a bank too heavy for camera rate runs on a shrunk copy of the frame, and
a still frame's preview is followed by its exact maps.

Plain threads, no Qt: the worker's results are collected as they go out.
"""

from __future__ import annotations

import threading

import numpy as np

from playground import Bank, ConvLayer, Filter
from playground.controller import pipeline
from playground.controller.pipeline import Job, LatestSlot, Result, Worker, preview_factor
from tests.engine import reference

TIMEOUT_S = 10.0


class CollectingSlot(LatestSlot):
    """A result slot that also keeps every result put into it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[Result] = []
        self.changed = threading.Condition()

    def put(self, value: object) -> None:
        assert isinstance(value, Result)
        with self.changed:
            self.results.append(value)
            self.changed.notify_all()
        super().put(value)

    def wait_for(self, count: int) -> list[Result]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.results) >= count, TIMEOUT_S)
            return list(self.results)


def bank() -> Bank:
    kernels = np.random.default_rng(5).standard_normal((2, 3, 3, 3))
    return Bank((ConvLayer(tuple(Filter(k, 0.1 * i) for i, k in enumerate(kernels))),))


def block_means(image: np.ndarray, factor: int) -> np.ndarray:
    """The float64 reference of the preview's shrinking: each factor x factor block's mean."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].astype(np.float64)
    return blocks.reshape(h, factor, w, factor, -1).mean(axis=(1, 3))


def test_the_factor_keeps_to_the_target_and_does_not_flip_near_it():
    target = pipeline.PREVIEW_TARGET_MS
    assert preview_factor(0.5 * target, 1) == 1
    assert preview_factor(3 * target, 1) == 2  # a quarter of the pixels
    assert preview_factor(8 * target, 1) == 3
    assert preview_factor(15 * target, 1) == 4
    assert preview_factor(100 * target, 1) == 4  # no smaller than a quarter each way
    # Just back under the target at the larger size: kept at the smaller one...
    assert preview_factor(0.9 * target, 2) == 2
    # ...until well under it.
    assert preview_factor(0.5 * target, 2) == 1


def test_a_heavy_bank_previews_a_still_frame_then_shows_it_exactly(monkeypatch):
    # Every bank is "heavy" against a target of a microsecond.
    monkeypatch.setattr(pipeline, "PREVIEW_TARGET_MS", 1e-3)
    slot = CollectingSlot()
    worker = Worker(slot)
    try:
        image = np.random.default_rng(6).integers(0, 256, (48, 64, 3), np.uint8)
        worker.put_frame(image)
        worker.put_job(Job(bank(), 1, None, (16, 12), preview=True))
        first = slot.wait_for(1)[0]
        assert first.preview_factor == 1  # nothing measured yet: the first run is exact
        edited = bank()  # an edit: the same bank anew, so a new job
        worker.put_job(Job(edited, 2, None, (16, 12), preview=True))
        results = slot.wait_for(3)
        preview, exact = results[1], results[2]
        assert (preview.generation, preview.preview_factor) == (2, 4)
        assert (exact.generation, exact.preview_factor) == (2, 1)
        # The preview is the bank on the frame shrunk by area averaging (within the uint8
        # rounding of the shrunk frame); the exact maps are the bank on the frame itself.
        outputs, _ = reference.run(edited.to_dict(), image)
        np.testing.assert_allclose(exact.outputs[0], outputs[0], rtol=1e-4, atol=1e-4)
        shrunk = np.clip(np.rint(block_means(image, 4)), 0, 255).astype(np.uint8)
        outputs, _ = reference.run(edited.to_dict(), shrunk)
        assert preview.outputs[0].shape == outputs[0].shape == (2, 10, 14)  # 12x16, valid
        np.testing.assert_allclose(preview.outputs[0], outputs[0], rtol=1e-4, atol=1e-4)
        assert preview.source.full is image  # the source pane still shows the whole frame
        # Nothing follows the exact maps: the worker is idle.
        assert worker.demand.wait_idle(TIMEOUT_S)
        assert len(slot.results) == 3
    finally:
        worker.stop()


def test_without_preview_every_frame_is_exact(monkeypatch):
    monkeypatch.setattr(pipeline, "PREVIEW_TARGET_MS", 1e-3)
    slot = CollectingSlot()
    worker = Worker(slot)
    try:
        rng = np.random.default_rng(7)
        for i in range(3):
            worker.put_frame(rng.integers(0, 256, (40, 40, 3), np.uint8))
            worker.put_job(Job(bank(), i + 1, None, (16, 16)))
            slot.wait_for(i + 1)
        assert [r.preview_factor for r in slot.results] == [1, 1, 1]
    finally:
        worker.stop()
