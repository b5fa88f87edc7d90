"""The `filter-playground` command: apply a bank, list presets, benchmark.

Every expected failure (bad bank, missing or corrupt image, unwritable folder) prints one line to
stderr and exits 2; tracebacks are for bugs only. `bench --soak` exits 1 when the soak fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

EXIT_USAGE = 2


class CommandError(Exception):
    """A failure the user can fix; printed as one line."""


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise CommandError(f"cannot encode {path.name}")
    try:
        # tofile (not imwrite) so non-ASCII folders work on every platform.
        buf.tofile(path)
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror or e}") from None


def apply_command(bank_path: str, image_path: str, out_dir: str) -> list[Path]:
    """Run a bank on an image; write layerN.npy and layerN.png per layer into ``out_dir``."""
    from playground.engine.bank import ConvLayer
    from playground.engine.bankfile import load_bank
    from playground.engine.montage import montage
    from playground.sources.image import read_image

    bank = load_bank(bank_path)
    image = read_image(image_path)
    outputs = bank.apply(image)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CommandError(f"cannot create {out}: {e.strerror or e}") from None
    written = []
    for n, (layer, maps) in enumerate(zip(bank.layers, outputs), 1):
        npy = out / f"layer{n}.npy"
        try:
            np.save(npy, maps, allow_pickle=False)
        except OSError as e:
            raise CommandError(f"cannot write {npy}: {e.strerror or e}") from None
        if isinstance(layer, ConvLayer):
            names = [f.name or f"filter {i}" for i, f in enumerate(layer.filters, 1)]
        else:
            names = [f"{layer.op}pool {i}" for i in range(1, maps.shape[0] + 1)]
        png = out / f"layer{n}.png"
        _write_png(png, montage(maps, names))
        written += [npy, png]
    return written


def presets_command() -> str:
    from playground.engine import presets

    lines = []
    for name in presets.names():
        p = presets.get(name)
        params = ", ".join(
            f"{q.name}={int(q.default) if q.integer else q.default}" for q in p.params
        )
        lines.append(f"{name:<16} {p.description}" + (f"  ({params})" if params else ""))
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="filter-playground",
        description="Design and explore convolution filters live. "
        "With no command, opens the window (camera 0 if one opens, else a sample image).",
    )
    parser.add_argument(
        "--no-camera", action="store_true", help="start on the sample image, not the camera"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="open the window on a test pattern, check the feature map it shows, exit 0 or 1",
    )
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("apply", help="run a bank on an image; write layerN.npy and layerN.png")
    p.add_argument("bank", help="bank file (JSON)")
    p.add_argument("image", help="image file (PNG, JPEG, ...)")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    sub.add_parser("presets", help="list the preset kernels")
    b = sub.add_parser("bench", help="time the engine against reference implementations")
    b.add_argument(
        "--sizes", type=_sizes, default="640x480,1280x720,1920x1080", help="e.g. 1280x720,640x480"
    )
    b.add_argument("--kernels", type=_ints, default="3,5,11", help="kernel sizes, e.g. 3,5")
    b.add_argument("--filters", type=int, default=8, help="filters in the layer")
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


def main(argv: Sequence[str] | None = None) -> int:
    from playground.engine.errors import BankError
    from playground.sources.image import SourceError

    args = _parser().parse_args(argv)
    try:
        if args.command == "apply":
            for path in apply_command(args.bank, args.image, args.out):
                print(path)
        elif args.command == "presets":
            print(presets_command())
        elif args.command == "bench":
            from playground import bench

            if args.soak is not None:
                return 0 if bench.soak(args.soak, out=sys.stdout)["passed"] else 1
            if args.live:
                bench.live_table(out=sys.stdout)
            else:
                bench.engine_table(args.sizes, args.kernels, args.filters, out=sys.stdout)
        elif args.self_test:
            from playground.ui.app import self_test

            return self_test([sys.argv[0]])
        else:
            from playground.ui.app import run

            return run([sys.argv[0]], open_camera=not args.no_camera)
    except (BankError, SourceError, CommandError) as e:
        print(f"filter-playground: {e}", file=sys.stderr)
        return EXIT_USAGE
    return 0
