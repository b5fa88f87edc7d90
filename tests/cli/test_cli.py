"""The `filter-playground` command: apply, presets, bench, the no-command default, errors.

Expected values are computed here with float64 numpy from the pixels and weights the tests write
themselves (or read from the bank JSON), never by calling the engine under test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

import playground
from playground import bench, cli
from playground.assets import resource_path
from playground.engine import heap, presets
from playground.sources import read_image

# --- helpers ---------------------------------------------------------------------------------

HEIGHT, WIDTH = 40, 50

# Written by hand in the v1 format. Layer 1 picks the RED channel unchanged (identity kernel on
# R, zeros on G and B) and takes a horizontal step of GREEN plus a bias; layer 2 max-pools 2x2;
# layer 3 is relu(red - green) with 1x1 kernels. All valid padding.
RGB_BANK = """\
{
  "format": "filter-playground.bank",
  "version": 1,
  "name": "red and green",
  "input": "rgb",
  "layers": [
    {
      "type": "conv",
      "name": "pick",
      "padding": "valid",
      "filters": [
        {
          "name": "red",
          "bias": 0,
          "kernels": [
            [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
          ]
        },
        {
          "name": "green step",
          "bias": 0.25,
          "kernels": [
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]],
            [[0, 0, 0], [0, -1, 1], [0, 0, 0]],
            [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
          ]
        }
      ]
    },
    {"type": "pool", "name": "half", "op": "max", "size": 2},
    {
      "type": "conv",
      "name": "red minus green",
      "padding": "valid",
      "activation": "relu",
      "filters": [{"name": "difference", "bias": 0, "kernels": [[[1]], [[-1]]]}]
    }
  ]
}
"""

# 3x3 valid, 2x2 pool, 3x3 valid: a 4x4 image becomes 2x2, then 1x1, then nothing at layer 3.
SHRINKING_BANK = """\
{
  "format": "filter-playground.bank",
  "version": 1,
  "input": "gray",
  "layers": [
    {
      "type": "conv", "padding": "valid",
      "filters": [{"kernels": [[[0, 0, 0], [0, 1, 0], [0, 0, 0]]]}]
    },
    {"type": "pool", "op": "max", "size": 2},
    {
      "type": "conv", "padding": "valid",
      "filters": [{"kernels": [[[1, 1, 1], [1, 1, 1], [1, 1, 1]]]}]
    }
  ]
}
"""


def make_rgb(height: int = HEIGHT, width: int = WIDTH, seed: int = 7) -> np.ndarray:
    """Random RGB pixels whose channels differ everywhere, so a BGR mix-up cannot go unseen."""
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2].astype(int)).mean() > 40
    return rgb


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write RGB pixels as a lossless PNG (OpenCV encodes BGR, hence the channel reversal)."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    assert ok
    buf.tofile(path)
    return path


def read_png(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None, f"{path} is not a readable image"
    return image


def expected_rgb_bank(rgb: np.ndarray) -> list[np.ndarray]:
    """RGB_BANK's three layers in float64, straight from the definitions."""
    x = rgb.astype(np.float64) / 255.0
    red, green = x[..., 0], x[..., 1]
    h, w = red.shape
    # Cross-correlation, valid: out[y, x] = sum_ij K[i, j] * X[y + i, x + j].
    layer1 = np.stack(
        [
            red[1 : h - 1, 1 : w - 1],
            green[1 : h - 1, 2:w] - green[1 : h - 1, 1 : w - 1] + 0.25,
        ]
    )
    c, h1, w1 = layer1.shape
    layer2 = layer1[:, : h1 // 2 * 2, : w1 // 2 * 2].reshape(c, h1 // 2, 2, w1 // 2, 2)
    layer2 = layer2.max(axis=(2, 4))
    layer3 = np.maximum(layer2[0] - layer2[1], 0.0)[None]
    return [layer1, layer2, layer3]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_maps_match(path: Path, want: np.ndarray) -> None:
    got = np.load(path, allow_pickle=False)
    assert got.dtype == np.float32, path.name
    assert got.shape == want.shape, path.name
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=path.name)


# --- apply -----------------------------------------------------------------------------------


@pytest.fixture
def rgb_case(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    bank = tmp_path / "red.json"
    bank.write_text(RGB_BANK, encoding="utf-8")
    rgb = make_rgb()
    return bank, write_png(tmp_path / "pixels.png", rgb), rgb


def test_apply_writes_float32_maps_equal_to_reference(capsys, tmp_path, rgb_case):
    bank, image, rgb = rgb_case
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "apply", str(bank), str(image), "--out", str(out))
    assert (code, stderr) == (0, "")
    names = [f"layer{n}.{ext}" for n in (1, 2, 3) for ext in ("npy", "png")]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert [Path(line).name for line in stdout.splitlines()] == names

    want = expected_rgb_bank(rgb)
    assert [w.shape for w in want] == [(2, 38, 48), (2, 19, 24), (1, 19, 24)]
    for n, expected in enumerate(want, 1):
        assert_maps_match(out / f"layer{n}.npy", expected)


def test_apply_reads_colours_as_rgb_not_bgr(capsys, tmp_path, rgb_case):
    bank, image, rgb = rgb_case
    out = tmp_path / "out"
    assert run(capsys, "apply", str(bank), str(image), "--out", str(out))[0] == 0
    red_map = np.load(out / "layer1.npy")[0]
    red = rgb[1:-1, 1:-1, 0] / 255.0
    blue = rgb[1:-1, 1:-1, 2] / 255.0
    np.testing.assert_allclose(red_map, red, rtol=0, atol=1e-6)
    assert np.abs(red_map - blue).max() > 0.5  # the channel picked is not blue


def test_apply_png_per_layer_is_a_readable_colour_image(capsys, tmp_path, rgb_case):
    bank, image, _ = rgb_case
    out = tmp_path / "out"
    assert run(capsys, "apply", str(bank), str(image), "--out", str(out))[0] == 0
    for n in (1, 2, 3):
        picture = read_png(out / f"layer{n}.png")
        assert picture.dtype == np.uint8
        assert picture.ndim == 3 and picture.shape[2] == 3, picture.shape
        assert picture.shape[0] >= 40 and picture.shape[1] >= 40
        assert picture.std() > 10, f"layer{n}.png is nearly flat"
        assert len(np.unique(picture.reshape(-1, 3), axis=0)) > 20


def test_apply_png_shows_the_map_unmirrored_in_rgb_order(capsys, tmp_path):
    # R - 0.5 of an image that is red on the left half and black on the right: the map is +0.5
    # on the left and -0.5 on the right, drawn red (> 0) and blue (< 0). Across the middle of
    # the picture the red run must come first: no mirroring, no red/blue swap when writing.
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16, 0] = 255
    image = write_png(tmp_path / "half.png", rgb)
    bank = tmp_path / "r.json"
    bank.write_text(
        '{"format": "filter-playground.bank", "version": 1, "layers": [{"filters": '
        '[{"name": "r", "bias": -0.5, "kernels": [[[1]], [[0]], [[0]]]}]}]}',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert run(capsys, "apply", str(bank), str(image), "--out", str(out))[0] == 0
    np.testing.assert_array_equal(np.load(out / "layer1.npy")[0], rgb[..., 0] / 255.0 - 0.5)
    picture = read_png(out / "layer1.png").astype(int)
    blue, red = picture[picture.shape[0] // 2, :, 0], picture[picture.shape[0] // 2, :, 2]
    reds, blues = np.nonzero((red > 200) & (blue < 50))[0], np.nonzero((blue > 200) & (red < 50))[0]
    assert reds.size >= 16 and blues.size >= 16
    assert reds.max() < blues.min()


def test_apply_works_in_non_ascii_folders(capsys, tmp_path):
    folder = tmp_path / "bilder-ümlaut-画像"
    folder.mkdir()
    bank = folder / "rot-フィルタ.json"
    bank.write_text(RGB_BANK, encoding="utf-8")
    rgb = make_rgb(seed=11)
    image = write_png(folder / "bild-画像.png", rgb)
    out = folder / "ausgabe-出力"
    code, _, stderr = run(capsys, "apply", str(bank), str(image), "--out", str(out))
    assert (code, stderr) == (0, "")
    for n, expected in enumerate(expected_rgb_bank(rgb), 1):
        assert_maps_match(out / f"layer{n}.npy", expected)
        assert read_png(out / f"layer{n}.png").shape[2] == 3


# --- errors ----------------------------------------------------------------------------------

ErrorCase = Callable[[Path], tuple[list[str], list[str]]]


def _image(tmp_path: Path, size: int = 16) -> str:
    return str(write_png(tmp_path / "img.png", make_rgb(size, size)))


def _bank(tmp_path: Path, text: str = RGB_BANK, name: str = "bank.json") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _missing_bank(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [str(tmp_path / "nope.json"), _image(tmp_path)], ["nope.json"]


def _malformed_bank(tmp_path: Path) -> tuple[list[str], list[str]]:
    bank = _bank(tmp_path, RGB_BANK[: len(RGB_BANK) // 2], "broken.json")
    return [bank, _image(tmp_path)], ["broken.json", "JSON"]


def _nan_bank(tmp_path: Path) -> tuple[list[str], list[str]]:
    bank = _bank(tmp_path, RGB_BANK.replace("[0, 1, 0]", "[0, NaN, 0]", 1), "nan.json")
    return [bank, _image(tmp_path)], ["nan.json"]


def _infinite_bank(tmp_path: Path) -> tuple[list[str], list[str]]:
    bank = _bank(tmp_path, RGB_BANK.replace("[0, 1, 0]", "[0, 1e999, 0]", 1), "inf.json")
    return [bank, _image(tmp_path)], ["inf.json"]


def _missing_image(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [_bank(tmp_path), str(tmp_path / "gone.png")], ["gone.png"]


def _corrupt_image(tmp_path: Path) -> tuple[list[str], list[str]]:
    image = tmp_path / "noise.png"
    image.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return [_bank(tmp_path), str(image)], ["noise.png"]


def _empty_image(tmp_path: Path) -> tuple[list[str], list[str]]:
    image = tmp_path / "empty.png"
    image.write_bytes(b"")
    return [_bank(tmp_path), str(image)], ["empty.png"]


def _image_is_a_folder(tmp_path: Path) -> tuple[list[str], list[str]]:
    folder = tmp_path / "folder.png"
    folder.mkdir()
    return [_bank(tmp_path), str(folder)], ["folder.png"]


def _shrinks_to_nothing(tmp_path: Path) -> tuple[list[str], list[str]]:
    return [_bank(tmp_path, SHRINKING_BANK), _image(tmp_path, 4)], ["layer 3"]


ERROR_CASES: dict[str, ErrorCase] = {
    "missing bank": _missing_bank,
    "malformed JSON": _malformed_bank,
    "NaN weight": _nan_bank,
    "infinite weight": _infinite_bank,
    "missing image": _missing_image,
    "corrupt image": _corrupt_image,
    "empty image": _empty_image,
    "image is a folder": _image_is_a_folder,
    "stack shrinks image to nothing": _shrinks_to_nothing,
}


def assert_one_line_error(code: int, stdout: str, stderr: str) -> str:
    assert code == cli.EXIT_USAGE == 2
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("filter-playground: "), stderr
    assert len(lines[0]) > len("filter-playground: ") + 10, stderr
    assert stdout == ""
    return lines[0]


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_apply_error_is_one_line_and_exit_2(capsys, tmp_path, case):
    inputs, fragments = ERROR_CASES[case](tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "apply", *inputs, "--out", str(out))
    message = assert_one_line_error(code, stdout, stderr)
    for fragment in fragments:
        assert fragment in message
    assert not out.exists() or not any(out.iterdir()), "a failed run left output behind"


def test_unwritable_out_dir_is_one_line_and_exit_2(capsys, tmp_path, rgb_case):
    bank, image, _ = rgb_case
    blocker = tmp_path / "a-file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "out"
    code, stdout, stderr = run(capsys, "apply", str(bank), str(image), "--out", str(out))
    message = assert_one_line_error(code, stdout, stderr)
    assert "a-file.txt" in message
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize(
    ("case", "place"),
    [
        ("NaN weight", ["layer 1", "filter 'red'"]),
        ("infinite weight", ["layer 1", "filter 'red'"]),
        ("stack shrinks image to nothing", ["layer 3", "4x4"]),
    ],
)
def test_error_message_names_the_place(capsys, tmp_path, case, place):
    inputs, _ = ERROR_CASES[case](tmp_path)
    code, stdout, stderr = run(capsys, "apply", *inputs, "--out", str(tmp_path / "out"))
    message = assert_one_line_error(code, stdout, stderr)
    for fragment in place:
        assert fragment in message


# --- presets ---------------------------------------------------------------------------------


def preset_section(stdout: str) -> list[str]:
    """The preset lines of `presets`: everything before the blank line."""
    return stdout.split("\n\n", 1)[0].splitlines()


def test_presets_lists_every_preset_with_its_description(capsys):
    code, stdout, stderr = run(capsys, "presets")
    assert (code, stderr) == (0, "")
    lines = preset_section(stdout)
    names = presets.names()
    assert len(names) > 10
    assert [line.split(maxsplit=1)[0] for line in lines] == names
    for name, line in zip(names, lines):
        assert presets.get(name).description in line, line


def test_presets_lists_the_bundled_banks_in_their_own_section(capsys):
    code, stdout, stderr = run(capsys, "presets")
    assert (code, stderr) == (0, "")
    heading, *banks = stdout.split("\n\n", 1)[1].splitlines()
    assert heading.startswith("bundled banks")
    assert [line.split(maxsplit=1)[0] for line in banks] == [
        p.stem for p in sorted(resource_path("banks").glob("*.json"))
    ]
    edges = json.loads(resource_path("banks", "edges-rgb.json").read_text(encoding="utf-8"))
    filters = len(edges["layers"][0]["filters"])
    assert f"edges-rgb        {edges['name']}: rgb input, 1 layer, {filters} filters" in banks


def test_python_dash_m_playground_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "playground", "presets"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    listed = [line.split(maxsplit=1)[0] for line in preset_section(result.stdout)]
    assert listed == presets.names()


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    # `filter-playground presets | head -1`, made deterministic: the reading end is closed
    # before the command writes anything.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "playground", "presets"],
            cwd=tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 0


# --- bench -----------------------------------------------------------------------------------


def test_bench_prints_a_table_engine_against_its_best_peer(capsys):
    code, stdout, stderr = run(
        capsys, "bench", "--sizes", "64x48", "--kernels", "3", "--filters", "2"
    )
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert f"{os.cpu_count()} cores" in lines[0]
    headers = [line for line in lines if "engine ms" in line]
    assert len(headers) == 1
    header = headers[0].split()
    rows = [line.split() for line in lines if line.split()[:1] == ["64x48"]]
    assert len(rows) == 1
    row = rows[0]
    assert row[1] == "3x3"
    # size, kernel, one time per column; with a peer installed, the best one and the ratio.
    timed = header.count("ms")
    assert all(float(v) >= 0 for v in row[2 : 2 + timed])
    if "engine/best" in header:
        assert header.index(row[2 + timed]) >= 3  # a peer's column (its name, then "ms")
        assert float(row[-1]) > 0


def test_bench_names_a_peer_python_it_cannot_run(capsys, tmp_path):
    missing = str(tmp_path / "no-python")
    code, _stdout, stderr = run(
        capsys, "bench", "--sizes", "64x48", "--kernels", "3", "--peer-python", missing
    )
    assert code == 2
    assert missing in stderr and "Traceback" not in stderr


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for the peer Python")
def test_bench_peers_run_with_the_heap_policy_the_engine_runs_with(tmp_path):
    # The engine keeps frame-sized blocks in its heap (as the app does); a peer without the
    # same policy would page-fault its outputs in afresh each run, and lose time for it.
    seen = tmp_path / "env.txt"
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nenv > '{seen}'\necho '{{\"peers\": []}}'\n")
    python.chmod(0o755)
    peer = bench.PeerProcess(str(python))
    peer.close()
    env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert env["MALLOC_MMAP_THRESHOLD_"] == str(heap.MMAP_THRESHOLD)
    assert env["MALLOC_TRIM_THRESHOLD_"] == str(heap.TRIM_THRESHOLD)
    assert env["MALLOC_ARENA_MAX"] == str(heap.ARENA_MAX)


@pytest.mark.parametrize("sizes", ["abc", "64x", "x48", "0x48", "64x48x2", "64*48"])
def test_bench_rejects_invalid_sizes(capsys, sizes):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--sizes", sizes])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--sizes" in err and "Traceback" not in err


# --- bundled resources -----------------------------------------------------------------------

BUNDLED_BANKS = sorted(p.name for p in resource_path("banks").glob("*.json"))
BUNDLED_IMAGES = sorted(p.name for p in resource_path("images").glob("*.jpg"))

NUMPY_BORDERS = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


def _pair(value: int | list[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    functions = {
        "none": lambda v: v,
        "relu": lambda v: np.maximum(v, 0.0),
        "abs": np.abs,
        "tanh": np.tanh,
        "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    }
    return functions[activation](x)


def _reference_conv(x: np.ndarray, layer: dict) -> np.ndarray:
    """Float64 cross-correlation of (C, H, W) with one JSON conv layer (stride 1, dilation 1)."""
    assert _pair(layer.get("stride", 1)) == (1, 1), "extend the reference for strides"
    assert _pair(layer.get("dilation", 1)) == (1, 1), "extend the reference for dilation"
    assert not layer.get("flip", False), "extend the reference for flip"
    padding = layer.get("padding", "valid")
    maps = []
    for f in layer["filters"]:
        k = np.array(f["kernels"], dtype=np.float64)
        _, kh, kw = k.shape
        if padding == "same":
            # The odd pixel of an even kernel goes after (bottom/right).
            pads = ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2))
            xp = np.pad(x, pads, mode=NUMPY_BORDERS[layer.get("border", "zero")])
        else:
            assert padding == "valid", "extend the reference for explicit padding"
            xp = x
        oh, ow = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
        acc = np.full((oh, ow), float(f.get("bias", 0.0)))
        for c, i, j in zip(*np.nonzero(k)):
            acc += k[c, i, j] * xp[c, i : i + oh, j : j + ow]
        maps.append(_activate(acc, layer.get("activation", "none")))
    return np.stack(maps)


def _reference_pool(x: np.ndarray, layer: dict) -> np.ndarray:
    ky, kx = _pair(layer.get("size", 2))
    sy, sx = _pair(layer.get("stride") or [ky, kx])
    _, h, w = x.shape
    oh, ow = (h - ky) // sy + 1, (w - kx) // sx + 1
    out = np.empty((x.shape[0], oh, ow))
    reduce = np.max if layer.get("op", "max") == "max" else np.mean
    for y in range(oh):
        for xx in range(ow):
            out[:, y, xx] = reduce(x[:, y * sy : y * sy + ky, xx * sx : xx * sx + kx], axis=(1, 2))
    return out


def reference_stack(bank: dict, rgb: np.ndarray) -> list[np.ndarray]:
    """Every layer's maps for a bank given as its JSON dict, in float64."""
    x = rgb.astype(np.float64) / 255.0
    if bank.get("input", "rgb") == "gray":
        planes = (x @ np.array([0.299, 0.587, 0.114]))[None]  # BT.601 luma
    else:
        planes = x.transpose(2, 0, 1)
    outputs = []
    for layer in bank["layers"]:
        if layer.get("type", "conv") == "pool":
            planes = _reference_pool(planes, layer)
        else:
            planes = _reference_conv(planes, layer)
        outputs.append(planes)
    return outputs


def _rgb_of(path: Path) -> np.ndarray:
    bgr = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return bgr[..., ::-1]


def assert_close_to_reference(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == np.float32, what
    assert got.shape == want.shape, what
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5 * scale, err_msg=what)


def test_bundled_resources_are_found():
    assert "edges-rgb.json" in BUNDLED_BANKS and len(BUNDLED_BANKS) >= 4
    assert "coffee.jpg" in BUNDLED_IMAGES and len(BUNDLED_IMAGES) >= 3


@pytest.mark.parametrize("image_name", BUNDLED_IMAGES)
@pytest.mark.parametrize("bank_name", BUNDLED_BANKS)
def test_bundled_bank_applies_to_bundled_image(bank_name, image_name):
    bank_path = resource_path("banks", bank_name)
    image_path = resource_path("images", image_name)
    bank = playground.load_bank(bank_path)
    rgb = _rgb_of(image_path)
    outputs = bank.apply(read_image(image_path))
    want = reference_stack(json.loads(bank_path.read_text(encoding="utf-8")), rgb)
    assert len(outputs) == len(bank.layers) == len(want)
    for n, (got, expected) in enumerate(zip(outputs, want), 1):
        assert_close_to_reference(got, expected, f"{bank_name} on {image_name}, layer {n}")
        assert float(np.ptp(got)) > 1e-3, f"layer {n} is constant"


@pytest.mark.parametrize("bank_name", BUNDLED_BANKS)
def test_apply_command_on_each_bundled_bank(capsys, tmp_path, bank_name):
    bank_path = resource_path("banks", bank_name)
    image_path = resource_path("images", "cat.jpg")
    layers = len(json.loads(bank_path.read_text(encoding="utf-8"))["layers"])
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "apply", str(bank_path), str(image_path), "--out", str(out))
    assert (code, stderr) == (0, "")
    assert len(list(out.iterdir())) == 2 * layers
    for n in range(1, layers + 1):
        assert np.load(out / f"layer{n}.npy").dtype == np.float32
        assert read_png(out / f"layer{n}.png").shape[2] == 3


@pytest.mark.parametrize(("argv", "camera"), [([], True), (["--no-camera"], False)])
def test_no_command_launches_the_window(capsys, monkeypatch, argv, camera):
    import playground.ui.app

    launched = []
    monkeypatch.setattr(
        playground.ui.app,
        "run",
        lambda argv, open_camera, path, verbose: launched.append(open_camera) or 0,
    )
    code, _, stderr = run(capsys, *argv)
    assert (code, stderr) == (0, "")
    assert launched == [camera]


@pytest.fixture
def launches(monkeypatch):
    """What the command asks of the window, instead of opening it."""
    import playground.ui.app

    calls = []

    def fake_run(argv, open_camera, path, verbose):
        calls.append({"argv": argv, "open_camera": open_camera, "path": path, "verbose": verbose})
        return 0

    monkeypatch.setattr(playground.ui.app, "run", fake_run)
    return calls


@pytest.mark.parametrize(
    "name", ["photo.png", "clip.avi", "bank.json", "snapshot.png", "bild-画像.jpg"]
)
def test_a_path_opens_the_window_on_it(capsys, tmp_path, launches, name):
    path = tmp_path / name
    path.write_bytes(b"")  # the window reads it; the command line only checks it is there
    code, stdout, stderr = run(capsys, str(path))
    assert (code, stdout, stderr) == (0, "", "")
    assert [(c["path"], c["open_camera"]) for c in launches] == [(str(path), True)]


def test_a_path_and_window_options_in_any_order(capsys, tmp_path, launches):
    path = write_png(tmp_path / "p.png", make_rgb(8, 8))
    assert run(capsys, str(path), "--no-camera", "--verbose")[0] == 0
    assert run(capsys, "--verbose", "--", str(path))[0] == 0
    assert [(c["path"], c["open_camera"], c["verbose"]) for c in launches] == [
        (str(path), False, True),
        (str(path), True, True),
    ]


def load_build_script():
    # Loaded by path: packaging/ is deliberately not a package (it would shadow PyPI's).
    spec = importlib.util.spec_from_file_location(
        "build_under_test", Path(__file__).resolve().parents[2] / "packaging" / "build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_open_with_from_the_desktop_entry_reaches_the_window(capsys, tmp_path, launches):
    # The menu's "Open With" runs the .desktop file's Exec line with %f as the file.
    entry = load_build_script().DESKTOP_ENTRY
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line == "Exec=filter-playground %f"
    image = write_png(tmp_path / "from the file manager.png", make_rgb(8, 8))
    program, *args = exec_line.removeprefix("Exec=").split()
    assert program == "filter-playground"
    code, _, stderr = run(capsys, *[str(image) if a == "%f" else a for a in args])
    assert (code, stderr) == (0, "")
    assert [c["path"] for c in launches] == [str(image)]


def test_a_path_that_does_not_exist_is_one_line_and_exit_2(capsys, tmp_path, launches):
    message = assert_one_line_error(*run(capsys, str(tmp_path / "gone.png")))
    assert "gone.png: no such file" in message
    message = assert_one_line_error(*run(capsys, str(tmp_path)))
    assert "is a folder" in message
    assert launches == []


def test_subcommand_names_still_win_over_a_path(capsys, tmp_path, monkeypatch, launches):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "presets").write_bytes(b"")  # open it with ./presets
    code, stdout, _ = run(capsys, "presets")
    assert code == 0 and stdout.split(maxsplit=1)[0] == presets.names()[0]
    assert launches == []


def test_version_prints_the_installed_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"filter-playground {metadata.version('filter-playground')}\n"
    assert metadata.version("filter-playground") == playground.__version__


def test_qt_options_go_to_qapplication(capsys, tmp_path, launches):
    image = write_png(tmp_path / "p.png", make_rgb(8, 8))
    code, _, stderr = run(
        capsys,
        "-style",
        "fusion",
        "--no-camera",
        "-geometry",
        "800x600+10+10",
        "-reverse",
        str(image),
        "-platform=offscreen",
    )
    assert (code, stderr) == (0, "")
    (call,) = launches
    assert call["argv"][1:] == [
        "-style",
        "fusion",
        "-geometry",
        "800x600+10+10",
        "-reverse",
        "-platform=offscreen",
    ]
    assert (call["path"], call["open_camera"]) == (str(image), False)


def test_qt_platform_option_reaches_qt(tmp_path):
    # No display and no QT_QPA_PLATFORM: only `-platform offscreen`, passed to Qt, lets the
    # window start. The self-test runs the real window in a fresh interpreter.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")
    }
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "playground", "--self-test", "-platform", "offscreen"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("self-test passed")


def test_unknown_options_are_still_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_apply_finds_a_bundled_bank_by_name_from_any_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = resource_path("images", "cat.jpg")
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "apply", "edges-rgb", str(image), "--out", str(out))
    assert (code, stderr) == (0, "")
    bank = json.loads(resource_path("banks", "edges-rgb.json").read_text(encoding="utf-8"))
    (want,) = reference_stack(bank, _rgb_of(image))
    assert_close_to_reference(np.load(out / "layer1.npy"), want, "edges-rgb by name")


def test_a_file_in_the_folder_wins_over_a_bundled_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "edges-rgb").write_text(RGB_BANK, encoding="utf-8")
    rgb = make_rgb()
    image = write_png(tmp_path / "pixels.png", rgb)
    code, _, stderr = run(capsys, "apply", "edges-rgb", str(image), "--out", "out")
    assert (code, stderr) == (0, "")
    for n, expected in enumerate(expected_rgb_bank(rgb), 1):
        assert_maps_match(tmp_path / "out" / f"layer{n}.npy", expected)


def test_an_unknown_bank_name_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = _image(tmp_path)
    message = assert_one_line_error(*run(capsys, "apply", "edges-rbg", image, "--out", "o"))
    assert "edges-rbg" in message


def test_out_of_memory_in_apply_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, rgb_case):
    bank, image, _ = rgb_case

    def no_memory(self, image, partials=False):
        raise MemoryError

    monkeypatch.setattr(playground.Bank, "apply", no_memory)
    out = tmp_path / "out"
    message = assert_one_line_error(*run(capsys, "apply", str(bank), str(image), "--out", str(out)))
    assert "not enough memory" in message and "pixels.png" in message and "50x40" in message
    assert not out.exists()


def test_a_small_bank_asking_for_gigabytes_is_refused_in_one_line_exit_2(
    capsys, tmp_path, monkeypatch
):
    # The 1 KB bank: 8 layers of padding 1024 reached 3.5 GB, then a MemoryError.
    from playground.engine import convolve
    from tests.engine.test_budget import padded_bank

    def fail(*args, **kwargs):
        raise AssertionError("the bank ran before it was checked")

    monkeypatch.setattr(convolve, "run_conv", fail)
    bank = tmp_path / "padding.json"
    playground.save_bank(padded_bank(), bank)
    assert bank.stat().st_size < 4096  # pretty-printed; 1 KB as compact JSON
    image = tmp_path / "hd.png"
    cv2.imwrite(str(image), np.zeros((720, 1280, 3), np.uint8))
    out = tmp_path / "out"
    message = assert_one_line_error(*run(capsys, "apply", str(bank), str(image), "--out", str(out)))
    assert message == (
        "filter-playground: layer 6 would need 2.4 GB of feature maps on this 1280x720 image; "
        "the limit is 2 GB"
    )
    assert not out.exists()
