"""Running a bank over many inputs: image files, folders, globs, videos and giant images, in this
process or on Dask (local workers or a dask.distributed cluster).

Each input is one job, run by `run_job` wherever it runs: it reads its input by path, writes its
outputs by path, and returns a `Result` of plain strings (the paths written, or the one-line
reason it failed). A job's files appear whole or not at all: each is written under a temporary
name in its folder and renamed once complete, so a failed job never leaves a half-written file
in place of one the user had.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from playground.engine import budget, heap, tiles
from playground.engine.bank import Bank, ConvLayer
from playground.engine.bankfile import dumps_bank, parse_bank
from playground.engine.errors import BankError
from playground.engine.montage import MapDigest, digest_montage, montage
from playground.sources.image import SourceError, read_image
from playground.sources.reading import VideoFrames, image_size, read_giant_image
from playground.sources.still import LIVE_MAX_PIXELS

SCALE_HINT = 'pip install "filter-playground[scale]"'
# What OpenCV reads as images and as videos; a folder's other files are not inputs.
IMAGE_SUFFIXES = frozenset(
    (
        ".png",
        ".jpg",
        ".jpeg",
        ".jpe",
        ".bmp",
        ".dib",
        ".tif",
        ".tiff",
        ".webp",
        ".jp2",
        ".pbm",
        ".pgm",
        ".ppm",
        ".pnm",
        ".sr",
        ".ras",
        ".exr",
        ".hdr",
    )
)
VIDEO_SUFFIXES = frozenset(
    (
        ".avi",
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".flv",
        ".ogv",
        ".3gp",
    )
)
# Images past the live size limit run in bands (engine/tiles.py) into memory-mapped files;
# below it, in one `Bank.apply` as the window would.
BANDED_ABOVE_PIXELS = LIVE_MAX_PIXELS


class JobError(Exception):
    """An input that cannot be run or written; one line, naming the input."""


@dataclass(frozen=True)
class Job:
    """One input (``kind`` "image" or "video") and the folder its outputs go to."""

    source: str
    out: str
    kind: str


@dataclass(frozen=True)
class Result:
    """What a job did: the files it wrote, or ``error``, one line."""

    source: str
    written: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class Plan:
    """The jobs for a list of INPUTs, and a failed `Result` for each INPUT that gives none."""

    jobs: list[Job] = field(default_factory=list)
    errors: list[Result] = field(default_factory=list)


def plan(inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> Plan:
    """Expand ``inputs`` (files, folders of images and videos, glob patterns) into jobs.

    A single image file writes into ``out`` itself (the layout `apply` has always had); with
    anything else, each input writes into its own folder ``out/<stem>``, named so that no two
    inputs share one (``x`` and ``x-jpg`` for x.png and x.jpg, then ``x-2``, ``x-3``, ...).
    """
    files: list[Path] = []
    errors: list[Result] = []
    seen: set[str] = set()
    for given in inputs:
        text = os.fspath(given)
        found = _expand(text, errors)
        for path in found:
            key = os.path.normcase(os.path.abspath(path))
            if key not in seen:
                seen.add(key)
                files.append(path)
    single = len(inputs) == 1 and len(files) == 1 and Path(os.fspath(inputs[0])).is_file()
    root = Path(out)
    jobs = []
    names = _folder_names(files)
    for path, name in zip(files, names):
        kind = "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"
        folder = root if single and kind == "image" else root / name
        jobs.append(Job(str(path), str(folder), kind))
    return Plan(jobs, errors)


def _expand(text: str, errors: list[Result]) -> list[Path]:
    path = Path(text)
    if path.is_dir():
        found = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
        )
        if not found:
            errors.append(Result(text, error=f"{text}: no images or videos in this folder"))
        return found
    if path.exists() or not glob.has_magic(text):
        return [path]  # a missing file fails in its job, with the reader's own message
    found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
    if not found:
        errors.append(Result(text, error=f"{text}: no file matches this pattern"))
    return found


def _folder_names(files: Sequence[Path]) -> list[str]:
    """A folder name per file: its stem, then stem-suffix, then stem-2, stem-3, ...; compared
    without case, for the file systems that ignore it."""
    taken: set[str] = set()
    names = []
    for path in files:
        stem = path.stem or path.name
        candidates = [stem, f"{stem}-{path.suffix.lstrip('.').lower()}"] if path.suffix else []
        name = next((c for c in candidates if c.casefold() not in taken), None)
        number = 2
        while name is None or name.casefold() in taken:
            name = f"{stem}-{number}"
            number += 1
        taken.add(name.casefold())
        names.append(name)
    return names


# --- one job ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _bank(text: str) -> Bank:
    """The bank of a job, parsed once per process: `Bank` keeps its compiled plans by
    identity, so every job of a run on a worker reuses them."""
    return parse_bank(text)


def run_job(
    bank_text: str,
    job: Job,
    npy: bool = False,
    progress: Callable[[float], None] | None = None,
) -> Result:
    """Run one job; never raises for a bad input (its `Result` says why, in one line).

    ``bank_text`` is the bank file's text (`dumps_bank`), so a worker needs nothing but this
    package and the paths. ``npy``: a video's raw maps as well as its montage videos.
    ``progress`` is told the fraction of the job done. Runs on the caller's thread: a Dask
    worker, or the CLI's main thread.
    """
    # A video's frames, a folder's images: each allocates the same maps as the one before.
    heap.keep_frame_buffers()
    bank = _bank(bank_text)
    try:
        if job.kind == "video":
            written = _run_video(bank, job, npy, progress)
        else:
            written = _run_image(bank, job, progress)
    except (BankError, SourceError, JobError) as e:
        return Result(job.source, error=str(e))
    except MemoryError:
        return Result(job.source, error=f"not enough memory to run the bank on {job.source}")
    return Result(job.source, tuple(str(p) for p in written))


def _names(bank: Bank) -> list[list[str]]:
    names = []
    for layer, c in zip(bank.layers, bank.channels()[1:]):
        if isinstance(layer, ConvLayer):
            names.append([f.name or f"filter {i}" for i, f in enumerate(layer.filters, 1)])
        else:
            names.append([f"{layer.op}pool {i}" for i in range(1, c + 1)])
    return names


def _run_image(bank: Bank, job: Job, progress: Callable[[float], None] | None) -> list[Path]:
    size = image_size(job.source)
    if size is not None and size[0] * size[1] > BANDED_ABOVE_PIXELS:
        return _run_banded(bank, job, read_giant_image(job.source), progress)
    image = read_image(job.source)
    if image.shape[0] * image.shape[1] > BANDED_ABOVE_PIXELS:  # a format without a header size
        return _run_banded(bank, job, image[:, :, ::-1], progress)
    try:
        outputs = bank.apply(image)
    except MemoryError:
        h, w = image.shape[:2]
        raise JobError(
            f"not enough memory to run the bank on {job.source} ({w}x{h}); "
            "try a smaller image or a bank with fewer filters"
        ) from None
    folder = _folder(job.out)
    with _Staging() as staging:
        for n, (maps, names) in enumerate(zip(outputs, _names(bank)), 1):
            npy = staging.path(folder / f"layer{n}.npy")
            _write(npy, functools.partial(np.save, arr=maps, allow_pickle=False))
            png = staging.path(folder / f"layer{n}.png")
            _write_png(png, montage(maps, names))
        return staging.commit()


def _run_banded(
    bank: Bank, job: Job, image: np.ndarray, progress: Callable[[float], None] | None
) -> list[Path]:
    """A giant image (H x W grey, or H x W x 3 BGR) through the bank in bands, each layer into
    a memory-mappable .npy; the montages from the bands' reduced data."""
    height, width = image.shape[:2]
    shapes = bank.output_shapes(height, width)
    work = budget.estimate(bank, height, width, check=False)
    if work.flops > budget.MAX_MULTIPLY_ADDS:
        raise JobError(
            f"{job.source}: the bank would need {work.flops:.2g} multiply-adds on this "
            f"{width}x{height} image; the limit is {budget.MAX_MULTIPLY_ADDS:.0g}"
        )
    folder = _folder(job.out)
    needed = sum(4 * c * h * w for c, h, w in shapes)
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise JobError(
            f"{job.source}: its maps need {needed / 1024**3:.1f} GB in {folder}, "
            f"which has {free / 1024**3:.1f} GB free"
        )

    def read(start: int, stop: int) -> np.ndarray:
        rows = image[start:stop]
        if rows.ndim == 2:
            # The pixels read_image gives for a grey file: the same grey in R, G and B.
            return bank.input_planes(np.repeat(rows[:, :, None], 3, axis=2))
        return bank.input_planes(np.ascontiguousarray(rows[:, :, ::-1]))

    digests = [MapDigest(*shape) for shape in shapes]
    with _Staging() as staging:
        files = [
            tiles.MapFile(staging.path(folder / f"layer{n}.npy"), shape)
            for n, shape in enumerate(shapes, 1)
        ]
        try:
            tiles.apply_bands(
                bank,
                read,
                height,
                width,
                files,
                watch=lambda n, rows, start: digests[n].add(rows, start),
                progress=None if progress is None else lambda d, t: progress(d / t),
            )
        except OSError as e:
            raise JobError(f"cannot write the maps of {job.source}: {e.strerror or e}") from None
        for n, (digest, names) in enumerate(zip(digests, _names(bank)), 1):
            _write_png(staging.path(folder / f"layer{n}.png"), digest_montage(digest, names))
        return staging.commit()


def _run_video(
    bank: Bank, job: Job, npy: bool, progress: Callable[[float], None] | None
) -> list[Path]:
    """Every frame through the bank: a video per layer of its montage per frame (MJPG .avi at
    the input's frame rate, one frame per input frame); with ``npy``, each layer's maps of all
    frames as one (frames, C, H', W') .npy too.

    A pipeline of three frames: while the engine computes frame i on the caller's thread (and
    its pool), one helper thread decodes frame i + 1 and another draws and encodes frame i - 1
    (OpenCV and numpy release the GIL there), in order, one frame at a time each.
    """
    frames = VideoFrames(job.source)
    names = _names(bank)
    writers: list[cv2.VideoWriter] = []
    raw: list[_GrowingNpy] = []

    def write(outputs: list[np.ndarray]) -> None:
        """Draw and encode one frame's montages. Runs on the job's encoding thread."""
        for n, (maps, name) in enumerate(zip(outputs, names)):
            picture = _even(montage(maps, name))
            writers[n].write(cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
            if npy:
                raw[n].append(maps)

    count = 0
    try:
        with _Staging() as staging, ThreadPoolExecutor(2, "apply-video") as helpers:
            try:
                decoded = iter(frames)
                coming = helpers.submit(next, decoded, None)
                written: Future[None] | None = None
                while (frame := coming.result()) is not None:
                    coming = helpers.submit(next, decoded, None)
                    outputs = bank.apply(frame)
                    if not writers:
                        folder = _folder(job.out)
                        for n, (maps, name) in enumerate(zip(outputs, names), 1):
                            path = staging.path(folder / f"layer{n}.avi")
                            picture = _even(montage(maps, name))
                            writers.append(_video_writer(path, picture, frames.fps))
                            if npy:
                                path = staging.path(folder / f"layer{n}.npy")
                                raw.append(_GrowingNpy(path, maps.shape))
                    if written is not None:
                        written.result()
                    written = helpers.submit(write, outputs)
                    count += 1
                    if progress is not None:
                        progress(min(count / frames.frame_count, 1.0))
                if written is not None:
                    written.result()
                for growing in raw:
                    growing.close(count)
            finally:
                # The helpers first: a frame may still be encoding into the writers.
                helpers.shutdown(wait=True)
                # Before the staging's clean-up: an open file cannot be removed on Windows.
                for writer in writers:
                    writer.release()
                for growing in raw:
                    growing.abandon()
            return staging.commit()
    except OSError as e:
        raise JobError(f"cannot write the outputs of {job.source}: {e.strerror or e}") from None
    finally:
        frames.close()


def _even(picture: np.ndarray) -> np.ndarray:
    """The picture grown to even sides, which MJPG encoders need everywhere."""
    h, w = picture.shape[:2]
    return cv2.copyMakeBorder(picture, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)


def _video_writer(path: Path, picture: np.ndarray, fps: float) -> cv2.VideoWriter:
    h, w = picture.shape[:2]
    # The temporary name must end in .avi: OpenCV picks the container from the suffix.
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise JobError(f"cannot write {path.name}: OpenCV could not open a video writer")
    return writer


class _GrowingNpy:
    """A .npy of (frames, C, H', W') float32 written frame by frame, its frame count put in
    the header at the end (a container's count is an estimate). Memory-mappable as any .npy."""

    # Header room for any frame count: the header is padded with spaces to this length.
    _HEADER = 256

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        self.path = path
        self.shape = shape
        self._file: IO[bytes] | None = open(path, "wb")  # noqa: SIM115 (closed in close/abandon)
        self._file.write(b" " * self._HEADER)

    def append(self, maps: np.ndarray) -> None:
        assert self._file is not None
        self._file.write(np.ascontiguousarray(maps, np.float32).tobytes())

    def close(self, frames: int) -> None:
        assert self._file is not None
        header = {"descr": "<f4", "fortran_order": False, "shape": (frames, *self.shape)}
        text = repr(header).encode("latin1")
        magic = b"\x93NUMPY\x01\x00"
        room = self._HEADER - len(magic) - 2
        padded = text + b" " * (room - len(text) - 1) + b"\n"
        self._file.seek(0)
        self._file.write(magic + room.to_bytes(2, "little") + padded)
        self._file.close()
        self._file = None

    def abandon(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _folder(out: str) -> Path:
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise JobError(f"cannot create {folder}: {e.strerror or e}") from None
    return folder


def _write(path: Path, save: Callable[[Path], None]) -> None:
    try:
        save(path)
    except OSError as e:
        raise JobError(f"cannot write {path.name}: {e.strerror or e}") from None


def _write_png(path: Path, rgb: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise JobError(f"cannot encode {path.name}")
    # tofile (not imwrite) so non-ASCII folders work on every platform.
    _write(path, buf.tofile)


class _Staging:
    """Files written under temporary names beside their final ones (``.layer1.npy.part.npy``:
    the suffix kept for the writers that go by it), renamed over them only by `commit`, all
    together; on any failure the temporary files go and the user's files stay as they were."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def __enter__(self) -> _Staging:
        return self

    def path(self, final: Path) -> Path:
        temporary = final.with_name(f".{final.stem}.part-{os.getpid()}{final.suffix}")
        self._pending.append((temporary, final))
        return temporary

    def commit(self) -> list[Path]:
        try:
            for temporary, final in self._pending:
                os.replace(temporary, final)
        except OSError as e:
            raise JobError(f"cannot write {final}: {e.strerror or e}") from None
        done = [final for _, final in self._pending]
        self._pending = []
        return done

    def __exit__(self, *exc: object) -> None:
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)


# --- many jobs -------------------------------------------------------------------------------


def _dask(module: str) -> Any:
    """Import a Dask module, or say in one line how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise JobError(f"{module.split('.')[0]} is not installed: {SCALE_HINT}") from None


def apply_many(
    bank: Bank,
    inputs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    workers: int | None = None,
    scheduler: str | None = None,
    npy: bool = False,
    on_result: Callable[[Result], None] | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> list[Result]:
    """Run ``bank`` on every input (image files, folders, glob patterns, videos); see `plan`
    for where the outputs go and `run_job` for what each writes.

    ``workers``: run on Dask's local scheduler with that many worker processes (they import
    the calling script anew: call this under ``if __name__ == "__main__":``). ``scheduler``:
    the address of a running dask.distributed scheduler (``tcp://host:8786``); its workers
    read the inputs and write the outputs by path, so they must see the same files at the same
    paths (a shared file system). Neither: in this process, one input after another.
    The maps are `Bank.apply`'s wherever they run.

    Returns one `Result` per input, in no set order; ``on_result`` sees each as it arrives and
    ``progress(inputs done, inputs)`` the count. An INPUT that gives no input (an empty folder,
    a pattern matching nothing) is a Result with its error too. Raises JobError (one line)
    when Dask is asked for and not installed, or the scheduler cannot be reached.
    """
    planned = plan(inputs, out)
    results = list(planned.errors)
    total = len(planned.jobs)
    text = dumps_bank(bank)

    def arrived(result: Result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)
        if progress is not None:
            progress(len(results) - len(planned.errors), total)

    for result in results:
        if on_result is not None:
            on_result(result)
    if scheduler is not None:
        _run_distributed(text, planned.jobs, npy, scheduler, arrived)
    elif workers is not None:
        _run_local(text, planned.jobs, npy, workers, arrived)
    else:
        for i, job in enumerate(planned.jobs):
            part = None if progress is None else lambda f, i=i: progress(i + f, total)
            arrived(run_job(text, job, npy, part))
    return results


def _run_local(
    text: str, jobs: list[Job], npy: bool, workers: int, arrived: Callable[[Result], None]
) -> None:
    dask = _dask("dask")
    callbacks = _dask("dask.callbacks")
    tasks = [dask.delayed(run_job, pure=False)(text, job, npy) for job in jobs]

    def posttask(key: object, result: object, *args: object) -> None:
        # Told of every task in the graph; the jobs' results are the Results.
        if isinstance(result, Result):
            arrived(result)

    with callbacks.Callback(posttask=posttask):
        dask.compute(*tasks, scheduler="processes", num_workers=workers)


def _run_distributed(
    text: str, jobs: list[Job], npy: bool, address: str, arrived: Callable[[Result], None]
) -> None:
    distributed = _dask("distributed")
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError) as e:
        raise JobError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    try:
        # Workers run in folders of their own: they get the paths whole.
        whole = [
            replace(j, source=os.path.abspath(j.source), out=os.path.abspath(j.out)) for j in jobs
        ]
        futures = client.map(run_job, [text] * len(whole), whole, [npy] * len(whole), pure=False)
        sources = {w.source: j.source for w, j in zip(whole, jobs)}
        for future in distributed.as_completed(futures):
            result = future.result()
            arrived(replace(result, source=sources[result.source]))
    finally:
        client.close()


class ProgressBar:
    """A one-line bar on ``stream`` (stderr), redrawn at most 10 times a second; silent unless
    the stream is a terminal. Runs on the thread that reports progress."""

    def __init__(self, stream: IO[str] = sys.stderr, enabled: bool | None = None) -> None:
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self._drawn = 0.0
        self._start = time.monotonic()

    def __call__(self, done: float, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._drawn < 0.1 and done < total):
            return
        self._drawn = now
        width = 30
        filled = int(width * done / max(total, 1))
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {int(done)}/{total} inputs "
            f"{now - self._start:.0f} s"
        )
        self.stream.write(line)
        self.stream.flush()

    def clear(self) -> None:
        """Take the bar off the line, so that what follows starts on a clean one."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()


def failed(results: Iterable[Result]) -> bool:
    """Whether any input failed."""
    return any(r.error is not None for r in results)
