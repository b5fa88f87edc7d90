"""The lessons: every bank runs on its frame like the float64 reference, and every number a
caption states is the number the engine computes."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground import Bank, ConvLayer, dumps_bank, lessons
from playground.lessons import LESSONS, Lesson
from playground.sources import PatternSource
from tests.engine.test_apply import assert_matches_reference

ROOT = Path(__file__).resolve().parents[2]
IDS = [lesson.name for lesson in LESSONS]


def run_both(bank: Bank, image: np.ndarray):
    """The engine's (outputs, partials), checked against the reference on the bank's dict."""
    assert_matches_reference(bank.to_dict(), image)
    return bank.apply(image, partials=True)


def one_kernel(bank: Bank, kernel) -> Bank:
    """``bank`` with its first layer's only filter's kernel replaced (any size, same channels)."""
    layer = bank.layers[0]
    (f,) = layer.filters
    new = dataclasses.replace(f, kernels=np.asarray(kernel, dtype=np.float64)[None])
    return bank.with_layer(0, dataclasses.replace(layer, filters=(new,)))


# --- every lesson ------------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_bank_loads_and_runs_on_the_frame_like_the_reference(lesson: Lesson):
    frame = lesson.frame()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.flags.c_contiguous
    bank = lesson.load_bank()
    assert lesson.bank_path.parent == ROOT / "resources" / "banks" / "lessons"
    outputs, _ = run_both(bank, frame)
    shapes = bank.output_shapes(*frame.shape[:2])
    assert [o.shape for o in outputs] == shapes


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_bank_file_is_the_canonical_text_of_its_bank(lesson: Lesson):
    # Written by save_bank's formatter, so a bank saved from the window diffs cleanly against it.
    text = lesson.bank_path.read_text(encoding="utf-8")
    assert json.loads(text)["version"] == 1
    assert text == dumps_bank(lesson.load_bank())


@pytest.mark.parametrize("lesson", LESSONS, ids=IDS)
def test_caption_is_two_non_empty_lines_and_the_frame_matches_the_source(lesson: Lesson):
    lines = lesson.caption.split("\n")
    assert len(lines) == 2
    assert all(line.strip() == line and line for line in lines)
    assert lesson.title and lesson.bank.endswith(".json")
    source = lesson.source()
    try:
        assert np.array_equal(source.read(), lesson.frame())
    finally:
        source.close()
    if lesson.pattern is not None:
        assert np.array_equal(lesson.frame(), PatternSource(lesson.pattern).read())


def test_names_are_unique_and_get_finds_each_lesson():
    assert len(set(IDS)) == len(IDS) == 6
    assert lessons.names() == tuple(IDS)
    assert len({lesson.bank for lesson in LESSONS}) == len(LESSONS)
    for lesson in LESSONS:
        assert lessons.get(lesson.name) is lesson


def test_get_unknown_lesson_lists_the_names():
    with pytest.raises(KeyError, match="unknown lesson 'nope'") as info:
        lessons.get("nope")
    for name in IDS:
        assert name in str(info.value)


def test_a_lesson_needs_either_a_pattern_or_a_drawing_and_a_two_line_caption():
    with pytest.raises(ValueError, match="either a pattern or draw"):
        Lesson("x", "X", "a\nb", "x.json")
    with pytest.raises(ValueError, match="two non-empty lines"):
        Lesson("x", "X", "one line", "x.json", pattern="checkerboard")
    with pytest.raises(ValueError, match="two non-empty lines"):
        Lesson("x", "X", "a\n\nb", "x.json", pattern="checkerboard")
    with pytest.raises(ValueError, match="unknown pattern"):
        Lesson("x", "X", "a\nb", "x.json", pattern="plaid")


def test_importing_lessons_does_not_import_qt():
    script = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
        "            raise ImportError(name + ' is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import playground.lessons as m\n"
        "for lesson in m.LESSONS:\n"
        "    lesson.load_bank().apply(lesson.frame())\n"
        "    lesson.source().read()\n"
        "assert 'PySide6' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
    # and the plain form, without the blocker
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, playground.lessons; assert 'PySide6' not in sys.modules",
        ],
        cwd=ROOT,
        check=True,
        timeout=120,
    )


# --- 1. the 1-D bump ---------------------------------------------------------------------------


def test_bump_1d_gives_exactly_0_0_1_1_0_0():
    lesson = lessons.get("bump-1d")
    frame = lesson.frame()
    assert frame.shape == (1, 8, 3)
    assert (frame[0, :, 0] // 255).tolist() == list(lessons.BUMP) == [0, 0, 0, 1, 1, 0, 0, 0]
    bank = lesson.load_bank()
    assert bank.input == "gray" and len(bank.layers) == 1
    layer = bank.layers[0]
    assert layer.padding == "valid" and layer.stride == (1, 1)
    assert layer.filters[0].kernels.tolist() == [[[0, 1, 0]]]
    (out,) = bank.apply(frame)
    assert out.shape == (1, 1, 6)
    assert out[0, 0].tolist() == [0, 0, 1, 1, 0, 0]


def test_bump_1d_caption_tries():
    lesson = lessons.get("bump-1d")
    frame, bank = lesson.frame(), lesson.load_bank()
    assert "[0 0 1 1 0 0]" in lesson.caption and "[0 1 2 2 1 0]" in lesson.caption
    (out,) = one_kernel(bank, [[1, 1, 1]]).apply(frame)
    assert out[0, 0].tolist() == [0, 1, 2, 2, 1, 0]
    (out,) = one_kernel(bank, [[-1, 1, 0]]).apply(frame)
    # up at the bump's left edge, down at its right
    assert out[0, 0].tolist() == [0, 0, 1, 0, -1, 0]
    same = bank.with_layer(0, dataclasses.replace(bank.layers[0], padding="same"))
    (out,) = same.apply(frame)
    assert out[0, 0].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]


# --- 2. the vertical line ----------------------------------------------------------------------


def test_vertical_line_every_row_is_0_0_3_3_0_0():
    lesson = lessons.get("vertical-line")
    frame = lesson.frame()
    assert frame.shape == (8, 8, 3)
    bank = lesson.load_bank()
    assert bank.layers[0].filters[0].kernels.tolist() == [[[0, 1, 0]] * 3]
    (out,) = bank.apply(frame)
    assert out.shape == (1, 6, 6)
    for row in out[0]:
        assert row.tolist() == [0, 0, 3, 3, 0, 0]


def test_vertical_line_transposed_kernel_gives_0_1_2_2_1_0():
    lesson = lessons.get("vertical-line")
    bank = lesson.load_bank()
    kernel = bank.layers[0].filters[0].kernels[0].T
    (out,) = one_kernel(bank, kernel).apply(lesson.frame())
    assert "[0 1 2 2 1 0]" in lesson.caption
    for row in out[0]:
        assert row.tolist() == [0, 1, 2, 2, 1, 0]


# --- 3. the horizontal edge --------------------------------------------------------------------


def edge_rows(frame: np.ndarray, kh: int, out_height: int) -> list[int]:
    """Output rows (valid padding, stride 1) whose kh-row window holds the bright-dark edge."""
    plane = frame[:, :, 0]
    changes = [y for y in range(1, plane.shape[0]) if not np.array_equal(plane[y], plane[y - 1])]
    assert len(changes) == 1
    (edge,) = changes  # first dark row
    return [y for y in range(out_height) if y < edge <= y + kh - 1]


def test_horizontal_edge_strongest_response_lies_on_the_edge_rows():
    lesson = lessons.get("horizontal-edge")
    frame, bank = lesson.frame(), lesson.load_bank()
    assert frame.shape == (lessons.EDGE_SIZE, lessons.EDGE_SIZE, 3)
    (out,) = bank.apply(frame)
    kh = bank.layers[0].filters[0].size[0]
    on_edge = edge_rows(frame, kh, out.shape[1])
    assert on_edge == [2, 3]
    strongest = sorted(set(np.nonzero(out[0] == out[0].max())[0].tolist()))
    assert strongest == on_edge
    # as the caption says: 3 on the two rows around the edge, 0 everywhere else
    expected = np.zeros_like(out[0])
    expected[on_edge] = 3
    np.testing.assert_array_equal(out[0], expected)


def test_horizontal_edge_negated_and_transposed():
    lesson = lessons.get("horizontal-edge")
    frame, bank = lesson.frame(), lesson.load_bank()
    kernel = bank.layers[0].filters[0].kernels[0]
    (negated,) = one_kernel(bank, -kernel).apply(frame)
    assert negated.min() == -3 and negated.max() == 0
    (transposed,) = one_kernel(bank, kernel.T).apply(frame)
    assert not transposed.any()


# --- 4. an RGB filter --------------------------------------------------------------------------


def test_rgb_filter_output_is_the_sum_of_its_three_partial_maps_plus_the_bias():
    lesson = lessons.get("rgb-filter")
    assert lesson.pattern == "colour-card"
    frame, bank = lesson.frame(), lesson.load_bank()
    assert bank.input == "rgb"
    layer = bank.layers[0]
    assert isinstance(layer, ConvLayer) and layer.activation == "none"
    (f,) = layer.filters
    k = f.kernels
    assert k.shape == (3, 3, 3)
    assert not np.array_equal(k[0], k[1]) and not np.array_equal(k[0], k[2])
    assert f.bias == -0.5 and "-0.5" in lesson.caption
    (out,), (maps,) = run_both(bank, frame)
    assert maps[0].shape == (3, *out.shape[1:])
    np.testing.assert_allclose(out[0], maps[0].sum(axis=0) + f.bias, rtol=1e-5, atol=1e-5)
    # each partial map is one colour channel correlated with its own kernel, alone
    for c in range(3):
        alone = np.zeros_like(frame)
        alone[:, :, c] = frame[:, :, c]
        (one,) = bank.apply(alone)
        np.testing.assert_allclose(one[0], maps[0][c] + f.bias, rtol=1e-5, atol=1e-5)


def test_rgb_filter_fires_where_red_ends_and_grey_edges_cancel():
    lesson = lessons.get("rgb-filter")
    frame, bank = lesson.frame(), lesson.load_bank()
    (out,) = bank.apply(frame)
    red = frame[0, :, 0].astype(int)  # the top row crosses every colour bar
    red_ends = [x for x in range(1, frame.shape[1]) if red[x - 1] > red[x]]
    assert len(red_ends) == 2  # yellow -> cyan and red -> blue
    # the strongest response is on the output columns whose 3-pixel window spans a red end
    strongest = sorted(set(np.nonzero(out[0] == out[0].max())[1].tolist()))
    assert strongest == sorted(x0 for x in red_ends for x0 in (x - 2, x - 1))
    # a grey edge (equal channels) leaves only the bias
    grey = PatternSource("vertical-line").read()
    (flat,) = bank.apply(grey)
    np.testing.assert_allclose(flat, -0.5, atol=1e-6)


# --- 5. stride and padding ---------------------------------------------------------------------


def test_stride_padding_output_size_matches_the_caption_formulas():
    lesson = lessons.get("stride-padding")
    frame, bank = lesson.frame(), lesson.load_bank()
    layer = bank.layers[0]
    h, w = frame.shape[:2]
    (kh, kw), (sy, sx) = layer.filters[0].size, layer.stride
    assert layer.padding == "valid" and (sy, sx) == (2, 2)

    seen = re.search(
        r"the (\d+)x(\d+) image gives a (\d+)x(\d+) feature map, "
        r"\((\d+) - (\d+)\) / (\d+) rounded down, \+ 1",
        lesson.caption,
    )
    assert seen is not None, lesson.caption
    ih, iw, oh, ow, fh, fk, fs = (int(g) for g in seen.groups())
    assert (ih, iw, fh, fk, fs) == (h, w, h, kh, sy)
    assert oh == (fh - fk) // fs + 1 and ow == (iw - kw) // sx + 1
    (out,) = run_both(bank, frame)[0]
    assert out.shape == (1, oh, ow)
    for row in out[0]:
        assert row.tolist() == [0, 3, 0]  # "each row is [0 3 0]"
    assert "[0 3 0]" in lesson.caption

    same = re.search(
        r"padding 'same' in the layer settings: (\d+) / (\d+) rounded up = (\d+)x(\d+)",
        lesson.caption,
    )
    assert same is not None, lesson.caption
    fh, fs, oh, ow = (int(g) for g in same.groups())
    assert (fh, fs) == (h, sy)
    assert oh == -(-fh // fs) and ow == -(-w // sx)
    same_bank = bank.with_layer(0, dataclasses.replace(layer, padding="same"))
    (out,) = run_both(same_bank, frame)[0]
    assert out.shape == (1, oh, ow)

    # and the strides the caption suggests follow the same rules
    for stride in (1, 3):
        for padding in ("valid", "same"):
            tried = bank.with_layer(0, dataclasses.replace(layer, stride=stride, padding=padding))
            (out,) = run_both(tried, frame)[0]
            if padding == "valid":
                assert out.shape[1:] == ((h - kh) // stride + 1, (w - kw) // stride + 1)
            else:
                assert out.shape[1:] == (-(-h // stride), -(-w // stride))


# --- 6. stacking -------------------------------------------------------------------------------


def test_stacking_second_layer_fires_only_at_the_corners():
    lesson = lessons.get("stacking")
    assert lesson.pattern == "checkerboard"
    frame, bank = lesson.frame(), lesson.load_bank()
    assert len(bank.layers) == 3
    lines, crossings = run_both(bank, frame)[0][1:]
    plane = frame[:, :, 0]
    # the checkerboard's corners: where the square changes both along rows and columns
    square = int(np.nonzero(plane[0] != plane[0, 0])[0][0])
    corners = [
        (y, x)
        for y in range(square, plane.shape[0], square)
        for x in range(square, plane.shape[1], square)
    ]
    scale = frame.shape[0] // crossings.shape[1]  # the pool halves the maps
    assert scale == 2
    fired = set(zip(*np.nonzero(crossings[0])))
    assert fired
    near = {
        (y // scale - dy, x // scale - dx) for y, x in corners for dy in (0, 1) for dx in (0, 1)
    }
    assert fired <= near  # nothing fires away from a corner
    for y, x in corners:  # and every corner fires
        assert any((y // scale - dy, x // scale - dx) in fired for dy in (0, 1) for dx in (0, 1))
    # both line maps respond along the sides, away from the corners: each alone is not enough
    assert lines[0].max() == 3 and lines[1].max() == 3
    assert (lines[0] > 0).sum() > 10 * len(fired) and (lines[1] > 0).sum() > 10 * len(fired)
    assert crossings[0].max() == 3 + 3 - 4


def test_stacking_bias_tries_from_the_caption():
    lesson = lessons.get("stacking")
    frame, bank = lesson.frame(), lesson.load_bank()
    last = bank.layers[2]
    (crossing,) = last.filters
    assert crossing.bias == -4 and "minus 4" in lesson.caption
    with_bias = {}
    for bias in (0.0, -2.0):
        tried = dataclasses.replace(crossing, bias=bias)
        out = bank.with_layer(2, last.with_filter(0, tried)).apply(frame)
        with_bias[bias] = int((out[2][0] > 0).sum())
    corners_only = int((bank.apply(frame)[2][0] > 0).sum())
    assert with_bias[0.0] > corners_only and with_bias[-2.0] > corners_only
