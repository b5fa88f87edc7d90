"""The `filter-playground` command: open the window (on a file), apply a bank, list presets,
benchmark.

Every expected failure (bad bank, missing or corrupt image, unwritable folder, not enough memory)
prints one line to stderr and exits 2; tracebacks are for bugs only. `bench --soak` exits 1 when
the soak fails.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

EXIT_USAGE = 2
COMMANDS = ("apply", "presets", "bench")

# QApplication's own options (QGuiApplication's, QApplication's and the X11 ones), which it
# takes out of argv itself: those that take a value, then the flags. They have one dash and are
# not ours, so they go to Qt untouched.
QT_VALUE_OPTIONS = frozenset(
    {
        "-platform",
        "-platformpluginpath",
        "-platformtheme",
        "-plugin",
        "-qmljsdebugger",
        "-qwindowgeometry",
        "-qwindowicon",
        "-qwindowtitle",
        "-session",
        "-display",
        "-geometry",
        "-style",
        "-stylesheet",
    }
)
QT_FLAGS = frozenset({"-reverse", "-widgetcount", "-nograb", "-dograb"})


class CommandError(Exception):
    """A failure the user can fix; printed as one line."""


def bundled_banks() -> dict[str, Path]:
    """The ready banks shipped with the app, by name (``edges-rgb``: resources/banks/...)."""
    from playground.assets import resource_path

    return {p.stem: p for p in sorted(resource_path("banks").glob("*.json"))}


def bank_file(name_or_path: str) -> Path:
    """The bank file a user means: a file that exists wins; else a bundled bank's name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    return bundled_banks().get(name_or_path, path)


def apply_command(
    bank_path: str,
    inputs: Sequence[str],
    out_dir: str,
    workers: int | None = None,
    scheduler: str | None = None,
    npy: bool = False,
    quiet: bool = False,
) -> int:
    """Run a bank on every input (see `playground.batch`); print each file written, one line on
    stderr per input that failed, a progress bar on stderr when it is a terminal (not with
    ``quiet``). Returns the exit status: 0, or EXIT_USAGE when any input failed.

    ``bank_path`` is a bank file or the name of a bundled bank (``edges-rgb``)."""
    from playground import batch
    from playground.engine.bankfile import load_bank

    bank = load_bank(bank_file(bank_path))
    bar = batch.ProgressBar(sys.stderr, enabled=False if quiet else None)
    several = len(inputs) > 1 or not Path(inputs[0]).is_file()

    def report(result: batch.Result) -> None:
        bar.clear()
        if result.error is None:
            print("\n".join(result.written), flush=True)
            return
        message = result.error
        if several and result.source not in message:
            message = f"{result.source}: {message}"
        print(f"filter-playground: {message}", file=sys.stderr, flush=True)

    try:
        results = batch.apply_many(
            bank, inputs, out_dir, workers, scheduler, npy, on_result=report, progress=bar
        )
    except batch.JobError as e:
        raise CommandError(str(e)) from None
    finally:
        bar.clear()
    return EXIT_USAGE if batch.failed(results) else 0


def presets_command() -> str:
    """The preset kernels, one a line; then, after a blank line and a heading, the bundled
    banks (so the first section still reads as before for scripts that parse it)."""
    from playground.engine import presets
    from playground.engine.bank import ConvLayer
    from playground.engine.bankfile import load_bank

    lines = []
    for name in presets.names():
        p = presets.get(name)
        params = ", ".join(
            f"{q.name}={int(q.default) if q.integer else q.default}" for q in p.params
        )
        lines.append(f"{name:<16} {p.description}" + (f"  ({params})" if params else ""))
    lines += ["", "bundled banks (filter-playground apply NAME IMAGE --out DIR):"]
    for name, path in bundled_banks().items():
        bank = load_bank(path)
        filters = sum(len(layer.filters) for layer in bank.layers if isinstance(layer, ConvLayer))
        layers = len(bank.layers)
        lines.append(
            f"{name:<16} {bank.name or name}: {bank.input} input, "
            f"{layers} layer{'s' * (layers != 1)}, {filters} filter{'s' * (filters != 1)}"
        )
    return "\n".join(lines)


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like 3,5,11, got {text!r}") from None
    if not all(1 <= v <= 101 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be between 1 and 101, got {text!r}")
    return values


def _sizes(text: str) -> list[tuple[int, int]]:
    """'1280x720,640x480' as [(720, 1280), (480, 640)]: (height, width) pairs."""
    sizes = []
    for item in text.lower().split(","):
        w, _, h = item.partition("x")
        if not (w.isdigit() and h.isdigit()) or not (1 <= int(w) <= 8192 and 1 <= int(h) <= 8192):
            raise argparse.ArgumentTypeError(f"expected sizes like 1280x720, got {item!r}")
        sizes.append((int(h), int(w)))
    return sizes


def _workers(text: str) -> int:
    """--workers: 1 to 256 processes."""
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(
            f"expected a number of workers from 1 to 256, got {text!r}"
        )
    return int(text)


def _minutes(text: str) -> float:
    """Soak minutes: more than 0, at most a day; fractions allowed."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes like 10 or 0.5, got {text!r}") from None
    if not 0 < value <= 1440:  # also refuses NaN
        raise argparse.ArgumentTypeError(
            f"minutes must be more than 0 and at most 1440 (a day), got {text!r}"
        )
    return value


def version() -> str:
    """The installed distribution's version; the package's own when run from a bare checkout."""
    from importlib import metadata

    try:
        return metadata.version("filter-playground")
    except metadata.PackageNotFoundError:
        from playground import __version__

        return __version__


def split_qt_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(Qt's own options with their values, everything else), each in the order given."""
    qt: list[str] = []
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.partition("=")[0]
        if name in QT_FLAGS or (name in QT_VALUE_OPTIONS and "=" in arg):
            qt.append(arg)
        elif name in QT_VALUE_OPTIONS:
            qt.append(arg)
            value = next(args, None)
            if value is not None:
                qt.append(value)
        else:
            rest.append(arg)
    return qt, rest


def take_path(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The file to open (the first argument that is neither an option nor a command), and the
    other arguments. A command's own arguments come after it, so they are never taken."""
    rest = list(argv)
    for i, arg in enumerate(rest):
        if arg == "--":
            if i + 1 < len(rest):
                return rest[i + 1], rest[:i] + rest[i + 2 :]
            break
        if not arg.startswith("-"):
            if arg in COMMANDS:
                break
            return arg, rest[:i] + rest[i + 1 :]
    return None, rest


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="filter-playground",
        usage="filter-playground [options] [PATH | COMMAND ...]",
        description="Design and explore convolution filters live. "
        "With no command, opens the window: on PATH (an image, a video, a bank JSON or a "
        "snapshot PNG) if given, else camera 0 if one opens, else a sample image. Qt's own "
        "options (-style fusion, -platform offscreen, -geometry WxH+X+Y, ...) go to Qt.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "--no-camera", action="store_true", help="start on the sample image, not the camera"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the window's warnings and errors to stderr too (they always go to the log "
        "file in the app-data folder)",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window on a test pattern, check the feature map it shows, exit 0 or 1",
    )
    # prog: subcommands name themselves "filter-playground bench", not after the custom usage.
    sub = parser.add_subparsers(dest="command", prog="filter-playground")
    p = sub.add_parser(
        "apply",
        help="run a bank on images, folders, globs or videos; write layerN.npy and layerN.png",
    )
    p.add_argument("bank", help="bank file (JSON), or a bundled bank's name such as edges-rgb")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image file (PNG, JPEG, ...), folder of images and videos, quoted glob pattern "
        "('scans/**/*.png'), or video file",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder (created if missing); with more than one image, a folder per input",
    )
    p.add_argument(
        "--npy", action="store_true", help="for videos, write the raw maps (layerN.npy) too"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="run N inputs at a time on Dask's local scheduler (needs the scale extra)",
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a dask.distributed cluster (tcp://host:8786); its workers read and write "
        "the files by path, so they need the same paths (a shared file system)",
    )
    sub.add_parser("presets", help="list the preset kernels and the bundled banks")
    b = sub.add_parser("bench", help="time the engine against reference implementations")
    b.add_argument(
        "--sizes", type=_sizes, default="640x480,1280x720,1920x1080", help="e.g. 1280x720,640x480"
    )
    b.add_argument("--kernels", type=_ints, default="3,5,11", help="kernel sizes, e.g. 3,5")
    b.add_argument("--filters", type=int, default=8, help="filters in the layer")
    b.add_argument(
        "--peer-python",
        action="append",
        default=[],
        metavar="PYTHON",
        help="a Python with PyTorch, onnxruntime or OpenCV to time as peers, each in its own "
        "process (repeatable; also $FILTER_PLAYGROUND_PEER_PYTHON); this Python is tried last",
    )
    mode = b.add_mutually_exclusive_group()
    mode.add_argument(
        "--live",
        action="store_true",
        help="measure the real window offscreen: displayed fps, edit latency, GUI stalls",
    )
    mode.add_argument(
        "--soak",
        type=_minutes,
        metavar="MINUTES",
        help="run the live pipeline offscreen this long (e.g. 10 or 0.5) with an edit every "
        "0.5 s; report frames, drops, thread restarts and memory growth; exit 1 if a thread "
        "died or memory grew more than 20 MB per 10 minutes",
    )
    return parser


def _window_path(path: str) -> str:
    target = Path(path)
    if not target.exists():
        raise CommandError(f"{path}: no such file")
    if target.is_dir():
        raise CommandError(f"{path} is a folder; give an image, a video or a bank file")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        code = _main(sys.argv[1:] if argv is None else argv)
        # Inside the try: piped output is buffered, and a reader that has gone shows up here.
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped (`presets | head -1`): not an error. Python's documented recipe:
        # point stdout at devnull so the flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


def _main(argv: Sequence[str]) -> int:
    from playground.engine.errors import BankError
    from playground.sources.image import SourceError

    parser = _parser()
    qt_args, rest = split_qt_args(argv)
    path, rest = take_path(rest)
    args = parser.parse_args(rest)
    if path is not None and args.self_test:
        parser.error("--self-test opens its own test pattern; it takes no PATH")
    try:
        if args.command == "apply":
            return apply_command(
                args.bank, args.inputs, args.out, args.workers, args.scheduler, args.npy, args.quiet
            )
        elif args.command == "presets":
            print(presets_command())
        elif args.command == "bench":
            from playground import bench

            if args.soak is not None:
                return 0 if bench.soak(args.soak, out=sys.stdout)["passed"] else 1
            if args.live:
                bench.live_table(out=sys.stdout)
            else:
                try:
                    bench.engine_table(
                        args.sizes, args.kernels, args.filters, sys.stdout, args.peer_python
                    )
                except bench.PeerError as e:
                    raise CommandError(str(e)) from e
        elif args.self_test:
            from playground.ui.app import self_test

            return self_test([sys.argv[0], *qt_args])
        else:
            if path is not None:
                path = _window_path(path)
            from playground.ui.app import run

            return run(
                [sys.argv[0], *qt_args],
                open_camera=not args.no_camera,
                path=path,
                verbose=args.verbose,
            )
    except (BankError, SourceError, CommandError) as e:
        print(f"filter-playground: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0
