"""`apply` over many inputs: folders, globs, videos, giant images, Dask workers and a cluster.

Maps are checked against the float64 reference of tests/engine/reference.py, and against
`Bank.apply` bit for bit where the issue asks for it (Dask, bands).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import playground
from playground import batch, cli
from playground.engine import tiles
from playground.sources import read_image
from tests.cli.test_cli import RGB_BANK, expected_rgb_bank, make_rgb, run, write_png
from tests.engine import reference


@pytest.fixture
def bank_file(tmp_path: Path) -> Path:
    path = tmp_path / "bank.json"
    path.write_text(RGB_BANK, encoding="utf-8")
    return path


def assert_reference_maps(folder: Path, rgb: np.ndarray) -> None:
    for n, want in enumerate(expected_rgb_bank(rgb), 1):
        got = np.load(folder / f"layer{n}.npy", allow_pickle=False)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=f"{folder} layer {n}")
        assert cv2.imread(str(folder / f"layer{n}.png")) is not None


def test_several_images_write_a_folder_each_whose_names_never_collide(capsys, tmp_path, bank_file):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    images = {
        "a/x.png": make_rgb(seed=1),
        "b/x.png": make_rgb(seed=2),
        "c/X.png": make_rgb(seed=3),
        "y.png": make_rgb(seed=4),
    }
    for name, rgb in images.items():
        write_png(tmp_path / name, rgb)
    out = tmp_path / "out"
    code, stdout, stderr = run(
        capsys, "apply", str(bank_file), *(str(tmp_path / n) for n in images), "--out", str(out)
    )
    assert (code, stderr) == (0, "")
    folders = sorted(p.name for p in out.iterdir())
    assert folders == ["X-2", "x", "x-png", "y"]
    for folder, rgb in zip(["x", "x-png", "X-2", "y"], images.values()):
        assert_reference_maps(out / folder, rgb)
    assert len(stdout.splitlines()) == 4 * 6  # every file written, one a line


def test_a_folder_and_a_quoted_glob_give_their_images(capsys, tmp_path, bank_file):
    shots = tmp_path / "shots"
    shots.mkdir()
    write_png(shots / "one.png", make_rgb(seed=5))
    write_png(shots / "two.png", make_rgb(seed=6))
    (shots / "notes.txt").write_text("not an image", encoding="utf-8")
    deep = tmp_path / "deep" / "er"
    deep.mkdir(parents=True)
    write_png(deep / "three.png", make_rgb(seed=7))
    out = tmp_path / "out"
    pattern = str(tmp_path / "deep" / "**" / "*.png")
    code, _, stderr = run(capsys, "apply", str(bank_file), str(shots), pattern, "--out", str(out))
    assert (code, stderr) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == ["one", "three", "two"]
    assert_reference_maps(out / "three", make_rgb(seed=7))


def test_a_bad_input_is_one_line_and_the_others_still_run(capsys, tmp_path, bank_file):
    write_png(tmp_path / "good.png", make_rgb(seed=8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "out"
    code, _, stderr = run(
        capsys,
        "apply",
        str(bank_file),
        str(tmp_path / "broken.png"),
        str(tmp_path / "missing.png"),
        str(tmp_path / "empty-*.png"),
        str(tmp_path / "good.png"),
        "--out",
        str(out),
    )
    assert code == cli.EXIT_USAGE
    lines = stderr.splitlines()
    assert len(lines) == 3, stderr
    assert all(line.startswith("filter-playground: ") for line in lines)
    assert any("broken.png" in line for line in lines)
    assert any("missing.png" in line for line in lines)
    assert any("empty-*.png" in line and "no file matches" in line for line in lines)
    assert_reference_maps(out / "good", make_rgb(seed=8))
    assert not (out / "broken").exists() or not any((out / "broken").iterdir())


def write_video(path: Path, frames: int, fps: float, size=(64, 48)) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    rng = np.random.default_rng(12)
    for i in range(frames):
        frame = np.full((size[1], size[0], 3), 20 * i % 256, np.uint8)
        frame[:, : size[0] // 2] = rng.integers(0, 256, (size[1], size[0] // 2, 3))
        writer.write(frame)
    writer.release()


def decoded_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def test_a_video_becomes_a_video_per_layer_with_its_frame_rate_and_frames(
    capsys, tmp_path, bank_file
):
    clip = tmp_path / "clip.avi"
    write_video(clip, frames=9, fps=12.0)
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "apply", str(bank_file), str(clip), "--npy", "--out", str(out))
    assert (code, stderr) == (0, "")
    frames = decoded_frames(clip)
    assert len(frames) == 9
    bank = json.loads(RGB_BANK)
    for n in range(1, 4):
        video = cv2.VideoCapture(str(out / "clip" / f"layer{n}.avi"))
        assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
        assert len(decoded_frames(out / "clip" / f"layer{n}.avi")) == 9
        video.release()
        raw = np.load(out / "clip" / f"layer{n}.npy", mmap_mode="r", allow_pickle=False)
        want = np.stack([reference.run(bank, f)[0][n - 1] for f in frames])
        assert raw.shape == want.shape and raw.dtype == np.float32
        np.testing.assert_allclose(raw, want, rtol=0, atol=1e-5)


def test_progress_is_drawn_on_a_terminal_and_never_into_a_pipe(tmp_path):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        bar = batch.ProgressBar(stream)
        bar(1, 4)
        bar(4, 4)
        bar.clear()
    assert "4/4 inputs" in terminal.getvalue()
    assert pipe.getvalue() == ""
    quiet = Terminal()
    bar = batch.ProgressBar(quiet, enabled=False)
    bar(4, 4)
    assert quiet.getvalue() == ""


@pytest.mark.parametrize("mode", ["gray", "rgb"])
def test_a_giant_image_runs_in_bands_to_the_whole_runs_maps(tmp_path, monkeypatch, mode):
    rng = np.random.default_rng(13)
    bank = playground.Bank(
        (
            playground.ConvLayer(
                tuple(
                    playground.Filter(rng.standard_normal((1 if mode == "gray" else 3, 3, 3)))
                    for _ in range(2)
                ),
                stride=2,
                padding="same",
                border="reflect",
            ),
            playground.PoolLayer("avg", 2),
            playground.ConvLayer(
                (playground.Filter(rng.standard_normal((2, 3, 3))),), dilation=2, padding=3
            ),
        ),
        input=mode,
    )
    image = tmp_path / "scan.png"
    grey = rng.integers(0, 256, (301, 227), dtype=np.uint8)
    assert cv2.imwrite(str(image), grey)  # an 8-bit grey PNG, decoded as grey
    monkeypatch.setattr(batch, "BANDED_ABOVE_PIXELS", 10_000)
    monkeypatch.setattr(tiles, "BAND_BYTES", 60_000)
    results = batch.apply_many(bank, [image], tmp_path / "out")
    assert [r.error for r in results] == [None]
    whole = bank.apply(read_image(image))
    for n, want in enumerate(whole, 1):
        got = np.load(tmp_path / "out" / f"layer{n}.npy", mmap_mode="r", allow_pickle=False)
        assert np.array_equal(got, want), f"layer {n}"
        picture = cv2.imread(str(tmp_path / "out" / f"layer{n}.png"))
        names = [f"filter {i}" for i in range(1, want.shape[0] + 1)]
        if n == 2:
            names = [f"avgpool {i}" for i in range(1, 3)]
        expected = playground.engine.montage.montage(want, names)[:, :, ::-1]
        assert picture.shape == expected.shape
        assert np.abs(picture.astype(int) - expected).max() <= 1
    assert not list((tmp_path / "out").glob(".*")), "temporary files left behind"


def test_a_giant_images_peak_memory_stays_under_1_2_gb(tmp_path):
    # The case: a 110-megapixel grey PNG through one 3x3 filter, in its own process so
    # that its peak RSS is its own; the decoded image (110 MB) is part of it.
    side = 10_500
    y = np.arange(side, dtype=np.uint16)[:, None]
    x = np.arange(side, dtype=np.uint16)[None, :]
    image = ((x * 3 + y * 7) % 251).astype(np.uint8)
    path = tmp_path / "scan.png"
    assert cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del image, x, y
    bank = tmp_path / "blur.json"
    playground.save_bank(
        playground.Bank(
            (playground.ConvLayer((playground.Filter(np.full((1, 3, 3), 1 / 9)),)),),
            input="gray",
        ),
        bank,
    )
    script = (
        "import resource, sys\n"
        "from playground.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code)\n"
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", script, "apply", str(bank), str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    peak_kb, code = done.stdout.split()[-2:]
    assert code == "0"
    assert int(peak_kb) < 1.2 * 1024**2, f"peak RSS {int(peak_kb) / 1024:.0f} MB"
    maps = np.load(out / "layer1.npy", mmap_mode="r", allow_pickle=False)
    assert maps.shape == (1, side - 2, side - 2)
    # A box blur of the pattern, away from the corners, by the definition.
    block = (np.arange(4000, 4003)[None, :] * 3 + np.arange(5000, 5003)[:, None] * 7) % 251
    assert maps[0, 5000, 4000] == pytest.approx(block.mean() / 255, abs=1e-6)


def dask_inputs(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        paths.append(write_png(tmp_path / f"image{i}.png", make_rgb(seed=20 + i)))
    return paths


def assert_bank_apply_maps(bank: playground.Bank, images: list[Path], out: Path) -> None:
    for path in images:
        for n, want in enumerate(bank.apply(read_image(path)), 1):
            got = np.load(out / path.stem / f"layer{n}.npy", allow_pickle=False)
            assert np.array_equal(got, want), f"{path.name} layer {n}"


def test_local_dask_workers_give_bank_apply_s_maps(tmp_path, bank_file):
    images = dask_inputs(tmp_path, 4)
    bank = playground.load_bank(bank_file)
    results = batch.apply_many(bank, images, tmp_path / "out", workers=2)
    assert sorted(r.source for r in results) == sorted(str(p) for p in images)
    assert all(r.error is None for r in results)
    assert_bank_apply_maps(bank, images, tmp_path / "out")


def test_a_loopback_cluster_with_two_worker_processes_gives_bank_apply_s_maps(tmp_path, bank_file):
    from distributed import LocalCluster

    images = dask_inputs(tmp_path, 3)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    bank = playground.load_bank(bank_file)
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # no fixed port: another cluster may hold 8787
    ) as cluster:
        results = batch.apply_many(
            bank,
            [*images, tmp_path / "broken.png"],
            tmp_path / "out",
            scheduler=cluster.scheduler_address,
        )
    errors = [r for r in results if r.error is not None]
    assert [Path(r.source).name for r in errors] == ["broken.png"]
    assert_bank_apply_maps(bank, images, tmp_path / "out")


def test_without_dask_workers_say_how_to_install_it(capsys, tmp_path, bank_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    image = write_png(tmp_path / "x.png", make_rgb())
    code, stdout, stderr = run(
        capsys, "apply", str(bank_file), str(image), "--workers", "2", "--out", str(tmp_path / "o")
    )
    assert code == cli.EXIT_USAGE and stdout == ""
    assert stderr.strip() == (
        'filter-playground: dask is not installed: pip install "filter-playground[scale]"'
    )


def test_a_failed_input_leaves_the_files_it_would_replace_as_they_were(
    tmp_path, monkeypatch, bank_file
):
    image = write_png(tmp_path / "x.png", make_rgb())
    out = tmp_path / "out"
    out.mkdir()
    (out / "layer1.npy").write_bytes(b"the user's own file")
    real = batch._write_png

    def full_disk_at_layer_2(path: Path, rgb: np.ndarray) -> None:
        if "layer2" in path.name:
            raise batch.JobError(f"cannot write {path.name}: No space left on device")
        real(path, rgb)

    monkeypatch.setattr(batch, "_write_png", full_disk_at_layer_2)
    results = batch.apply_many(playground.load_bank(bank_file), [image], out)
    assert results[0].error is not None and "No space left" in results[0].error
    assert (out / "layer1.npy").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in out.iterdir()) == ["layer1.npy"]
