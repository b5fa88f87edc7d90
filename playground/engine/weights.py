"""Trained first-layer weights in and out: import arrays as a bank, export a bank's first layer.

Import (`import_weights`) reads a conv weight array and makes a one-layer bank of its C_out
filters. Files are read without ever unpickling: ``.npy``/``.npz`` by this module, from each
array's header (shape and dtype checked before any data is read; a zip's declared sizes before
anything is inflated); ``.safetensors`` (a plain tensor format) and ``.onnx`` with their own
packages, imported only when such a file is read (ONNX external data only from inside the
model's folder); PyTorch ``.pt``/``.pth`` only through ``torch.load(weights_only=True)``, which
refuses arbitrary objects, after the same zip checks. Only regular files are opened: a FIFO
would block forever.

Layouts
-------
``"torch"``: (C_out, C_in, kh, kw), as PyTorch, ONNX and Caffe store conv weights.
``"keras"``: (kh, kw, C_in, C_out), as Keras and TensorFlow do.

``layout="auto"`` decides from the shape (a, b, c, d) by two rules, in order:

1. Channels. A first layer reads the image, so C_in is 1 (gray) or 3 (rgb) (only the one the
   ``input`` argument names, when it is given). Torch puts C_in at axis 1 (b), Keras at axis 2
   (c). If only one of them fits, that is the layout.
2. Square kernels. Kernels are nearly always square: torch has them at the end (c == d), Keras
   at the start (a == b). If both readings fit the channels and only one is square, that is the
   layout. If only one reading fits the channels but its kernels are not square while the other
   reading's are (e.g. (4, 2, 3, 3)), the shape is not trusted either way, unless the ``input``
   argument named the channel count.

Otherwise (e.g. (3, 3, 3, 3), or (3, 3, 3, 5)) the shape does not say, and a `BankError` asks for
``layout='torch'`` or ``'keras'``, unless both readings give the very same filters. A 3-D array
is one filter, (C_in, kh, kw) in torch order or (kh, kw, C_in) in Keras order, decided by the
same rules; a 2-D array (kh, kw) is one gray kernel.

ONNX and PyTorch files are torch layout by definition, so "auto" means "torch" for them.

Weights alone get padding "same": a trained first layer is usually run with "same" padding, and
it keeps each feature map the size of the image, so maps line up with the picture in the viewer.
Stride 1, dilation 1, zero border, no flip (frameworks cross-correlate, as the engine does without
flip) and no activation: the layer's raw responses. An ONNX model's weights run as their Conv
node says instead (`onnx_conv_settings`); `playground.engine.model_import` takes a model's
whole leading chain of layers.
"""

from __future__ import annotations

import importlib
import io
import lzma
import math
import os
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

from playground.engine.bank import (
    INPUT_CHANNELS,
    MAX_FILTERS,
    MAX_KERNEL,
    MAX_NAME,
    Bank,
    ConvLayer,
    Filter,
)
from playground.engine.bankfile import open_regular, write_atomic
from playground.engine.errors import BankError

LAYOUTS = ("auto", "torch", "keras")
EXPORT_LAYOUTS = ("torch", "keras")
FRAMEWORKS = ("numpy", "pytorch", "keras")

_WEIGHT_WORDS = ("weight", "kernel")
_NUMPY_BORDERS = {"zero": "constant", "reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


# --- reading files -----------------------------------------------------------------------------

# The largest weight array worth reading: MAX_FILTERS rgb filters of the largest kernel (250 MB as
# float64). Shapes are checked against it from the file's header, before any data is read.
MAX_ELEMENTS = MAX_FILTERS * 3 * MAX_KERNEL * MAX_KERNEL
# What a zip (.npz, or PyTorch's .pt) may declare it decompresses to, all members together: a
# real first layer is far smaller, and a 2 MB zip bomb declares gigabytes.
MAX_ARCHIVE_BYTES = 1024 * 2**20
_ZIP_MAGIC = b"PK\x03\x04"
# What reading a damaged zip or npy can raise besides OSError: a bad CRC (BadZipFile), bad
# deflate/bzip2/lzma data, a short header (EOFError), an encrypted member (RuntimeError), an
# unknown compression method (NotImplementedError).
_BROKEN = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    ValueError,
    RuntimeError,
    NotImplementedError,
)


def _optional(module: str, package: str, suffix: str) -> Any:
    """Import an optional package, or a BankError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise BankError(
            f"reading {suffix} needs the '{package}' package: pip install {package}"
        ) from None


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz", ".safetensors", ".onnx"):
        return suffix
    if suffix in (".pt", ".pth"):
        return ".pt"
    raise BankError(
        f"{path.name}: unknown weight file type {suffix or '(none)'}; "
        "reads .npy, .npz, .safetensors, .onnx, .pt/.pth"
    )


def _first_line(error: BaseException) -> str:
    # torch and onnx explain themselves over many lines; the first one says what went wrong.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _where(path: Path, name: str) -> str:
    return f"{path.name}" if not name else f"{path.name}, array '{name}'"


def _plain(array: Any, path: Path, name: str) -> np.ndarray:
    """A real-number array, or a BankError naming it."""
    a = np.asarray(array)
    _plain_dtype(a.dtype, path, name)
    return a


def _plain_dtype(dtype: np.dtype, path: Path, name: str) -> None:
    if dtype.hasobject:
        raise BankError(
            f"{_where(path, name)} holds pickled Python objects; only plain numeric arrays are read"
        )
    if not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        raise BankError(f"{_where(path, name)} holds {dtype} values; only real numbers are read")


def _check_shape(shape: tuple[int, ...], path: Path, name: str) -> None:
    """Refuse, before its data is read, an array no bank could hold."""
    dims_ok = all(0 <= d <= max(MAX_FILTERS, MAX_KERNEL) for d in shape)
    if not dims_ok or math.prod(shape) > MAX_ELEMENTS:
        raise BankError(f"{_where(path, name)} has shape {shape}; too large for a bank")


class _Stored:
    """One array of a weight file: its shape known, its data read only when asked for."""

    def __init__(self, shape: tuple[int, ...], read: Callable[[], np.ndarray]) -> None:
        self.shape = tuple(int(d) for d in shape)
        self.ndim = len(self.shape)
        self._read = read

    @classmethod
    def loaded(cls, array: np.ndarray) -> _Stored:
        return cls(array.shape, lambda: array)

    def read(self) -> np.ndarray:
        return self._read()


def _npy_header(f: IO[bytes], path: Path, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from a .npy header; the stream is left at the data."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:  # 3.0 only exists for structured dtypes with non-latin-1 field names
        raise BankError(f"{_where(path, name)}: numpy format {version} is not read")
    _plain_dtype(dtype, path, name)
    return tuple(shape), bool(fortran), dtype


def _npy_data(
    f: IO[bytes], header: tuple[tuple[int, ...], bool, np.dtype], path: Path, name: str
) -> np.ndarray:
    shape, fortran, dtype = header
    _check_shape(shape, path, name)
    size = math.prod(shape) * dtype.itemsize
    data = f.read(size)
    if len(data) < size:
        raise BankError(f"{_where(path, name)} is truncated: {len(data)} of {size} bytes")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")


def _check_archive(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip whose members declare more than MAX_ARCHIVE_BYTES, before inflating any.

    zipfile never yields more than a member's declared size, so the declaration bounds memory.
    """
    total = sum(info.file_size for info in archive.infolist())
    if total > MAX_ARCHIVE_BYTES:
        raise BankError(
            f"{path.name} decompresses to {total // 2**20} MB; weight files above "
            f"{MAX_ARCHIVE_BYTES // 2**20} MB are not read"
        )


def _read_numpy(path: Path) -> dict[str, _Stored]:
    """The arrays of a .npy or .npz file, from their headers; nothing is ever unpickled."""
    with open_regular(path) as f:
        magic = f.read(len(_ZIP_MAGIC))
        f.seek(0)
        if not magic.startswith(_ZIP_MAGIC):
            shape = _npy_header(f, path, "")[0]

            def read() -> np.ndarray:
                with open_regular(path) as again:
                    return _npy_data(again, _npy_header(again, path, ""), path, "")

            return {"": _Stored(shape, read)}
    return _read_npz(path)


def _read_npz(path: Path) -> dict[str, _Stored]:
    out: dict[str, _Stored] = {}
    with open_regular(path) as raw, zipfile.ZipFile(raw) as archive:
        _check_archive(archive, path)
        for member in archive.namelist():
            name = member[:-4] if member.endswith(".npy") else member
            with archive.open(member) as f:
                header = _npy_header(f, path, name)

            def read(member: str = member, name: str = name) -> np.ndarray:
                with (
                    open_regular(path) as raw,
                    zipfile.ZipFile(raw) as again,
                    again.open(member) as f,
                ):
                    array = _npy_data(f, _npy_header(f, path, name), path, name)
                    f.read(1)  # reaching the member's end makes zipfile check its CRC
                return array

            out[name] = _Stored(header[0], read)
    return out


def _reading(path: Path, read: Callable[[], Any]) -> Any:
    """``read()``, with any failure of a damaged or hostile file as a one-line BankError."""
    try:
        return read()
    except BankError:
        raise
    except OSError as e:
        raise BankError(f"cannot read {path.name}: {e.strerror or e}") from None
    except _BROKEN as e:
        raise BankError(f"{path.name} is not a readable weight file: {_first_line(e)}") from None


def _read_all(path: Path) -> dict[str, _Stored]:
    """Every array in the file by name (a .npy file's one array is named "")."""
    kind = _kind(path)
    if kind in (".npy", ".npz"):
        stored = _reading(path, lambda: _read_numpy(path))
        return {k: _Stored(s.shape, partial(_reading, path, s.read)) for k, s in stored.items()}
    if kind == ".safetensors":
        st = _optional("safetensors.numpy", "safetensors", ".safetensors")
        try:
            _reading(path, lambda: open_regular(path).close())
            loaded = st.load_file(str(path))
        except BankError:
            raise
        except Exception as e:  # a broken file, or a dtype numpy lacks (bfloat16)
            raise BankError(f"cannot read {path.name}: {_first_line(e)}") from None
        return {k: _Stored.loaded(_plain(v, path, k)) for k, v in loaded.items()}
    if kind == ".onnx":
        return read_onnx(path)
    return _read_torch(path)


def read_onnx(path: Path, model: Any = None) -> dict[str, _Stored]:
    """An ONNX model's initializers, each read when asked for (``model``: the model
    `load_onnx` gave, when the caller has it)."""
    model = load_onnx(path) if model is None else model
    helper = importlib.import_module("onnx.numpy_helper")
    # External data is loaded here, tensor by tensor, once its path is checked: onnx before
    # 1.21 followed "../" and symlinks out of the model's folder.
    external = importlib.import_module("onnx.external_data_helper")
    folder = path.resolve().parent
    out: dict[str, _Stored] = {}
    for tensor in model.graph.initializer:

        def read(tensor: Any = tensor) -> np.ndarray:
            _check_shape(tuple(tensor.dims), path, tensor.name)
            if external.uses_external_data(tensor):
                _check_external(tensor, folder, path)
                try:
                    external.load_external_data_for_tensor(tensor, str(folder))
                except Exception as e:
                    raise BankError(f"cannot read {path.name}: {_first_line(e)}") from None
            try:
                return _plain(helper.to_array(tensor), path, tensor.name)
            except BankError:
                raise
            except Exception as e:
                raise BankError(f"cannot read {path.name}: {_first_line(e)}") from None

        out[tensor.name] = _Stored(tuple(tensor.dims), read)
    return out


# ONNX Pad modes as the bank's borders (ONNX "reflect" leaves the edge out, as OpenCV's
# BORDER_REFLECT_101, the engine's "reflect", does).
_ONNX_BORDERS = {"constant": "zero", "reflect": "reflect", "edge": "replicate", "wrap": "wrap"}


def load_onnx(path: Path) -> Any:
    """An ONNX model's graph and node attributes, without its external data (read tensor by
    tensor by `read_onnx`, once each path is checked). Raises BankError in one line."""
    onnx = _optional("onnx", "onnx", ".onnx")
    _reading(path, lambda: open_regular(path).close())
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as e:
        raise BankError(f"cannot read {path.name}: {_first_line(e)}") from None


def onnx_attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded)."""
    helper = importlib.import_module("onnx.helper")
    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def node_name(node: Any) -> str:
    return f"{node.op_type} node {node.name or node.output[0]!r}"


def _onnx_conv_settings(path: Path, weight: str) -> dict[str, Any]:
    """The ConvLayer settings of the ONNX Conv node whose weight is ``weight`` (see
    `onnx_conv_settings`); a weight no Conv node uses is refused."""
    graph = load_onnx(path).graph
    conv = next(
        (
            n
            for n in graph.node
            if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] == weight
        ),
        None,
    )
    if conv is None:
        raise BankError(
            f"{_where(path, weight)} is the weight of no Conv node, so its stride and padding "
            "are unknown; pass a .npy of it to import it as a 'same' layer"
        )
    producer = next((n for n in graph.node if conv.input[0] in n.output), None)
    pad = producer if producer is not None and producer.op_type == "Pad" else None
    return onnx_conv_settings(path, graph, conv, pad)


def onnx_conv_settings(path: Path, graph: Any, conv: Any, pad: Any = None) -> dict[str, Any]:
    """The ConvLayer settings of an ONNX Conv node: stride, dilation, padding, border (the Pad
    node ``pad`` right before it gives the border) and groups. Raises BankError, naming the
    node, for what the bank format cannot express: SAME_LOWER at a stride above 1 (its odd
    pixel before depends on the frame's size), a Pad node of a value other than 0, over the
    batch or channel axes, or of amounts other nodes compute."""
    numpy_helper = importlib.import_module("onnx.numpy_helper")
    where = f"{path.name}: {node_name(conv)}"
    attrs = onnx_attributes(conv)
    group = int(attrs.get("group", 1))
    if not 1 <= group <= MAX_FILTERS:
        raise BankError(f"{where} has group={group}; the bank takes 1 to {MAX_FILTERS} groups")
    stride = tuple(int(v) for v in attrs.get("strides", (1, 1)))
    dilation = tuple(int(v) for v in attrs.get("dilations", (1, 1)))
    auto_pad = str(attrs.get("auto_pad", "NOTSET"))
    pads = [int(v) for v in attrs.get("pads", (0, 0, 0, 0))]  # top, left, bottom, right
    settings: dict[str, Any] = {
        "stride": stride,
        "dilation": dilation,
        "border": "zero",
        "groups": group,
    }
    if auto_pad == "VALID":
        pads = [0, 0, 0, 0]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        settings["padding"] = "same"
        if auto_pad == "SAME_UPPER":
            return settings
        weights = {t.name: t for t in graph.initializer}.get(conv.input[1])
        shape = attrs.get("kernel_shape", () if weights is None else tuple(weights.dims)[2:])
        spans = [d * (int(k) - 1) for d, k in zip(dilation, shape)]
        # SAME_LOWER puts an odd pixel of padding before, the bank's "same" after. At stride 1
        # the padding is the kernel's span whatever the frame's size: the four sides say it.
        # At a larger stride it depends on the frame's size, and only "same" pads that way.
        if stride != (1, 1) or len(spans) != 2:
            raise BankError(
                f"{where} pads SAME_LOWER at stride {stride[0]}x{stride[1]} (an odd pixel "
                "before, by an amount that depends on the frame's size); the bank's 'same' "
                "pads it after"
            )
        if any(span % 2 for span in spans):
            ty, tx = spans
            settings["padding"] = (ty - ty // 2, ty // 2, tx - tx // 2, tx // 2)
        return settings
    elif auto_pad != "NOTSET":
        raise BankError(f"{where} has auto_pad {auto_pad!r}, which ONNX does not define")
    producer = pad
    if producer is not None:
        pad_attrs = onnx_attributes(producer)
        mode = str(pad_attrs.get("mode", "constant"))
        initial = {t.name: t for t in graph.initializer}
        amounts = pad_attrs.get("pads")
        if amounts is None and len(producer.input) > 1 and producer.input[1] in initial:
            amounts = numpy_helper.to_array(initial[producer.input[1]]).tolist()
        value = 0.0
        if len(producer.input) > 2 and producer.input[2] in initial:
            value = float(numpy_helper.to_array(initial[producer.input[2]]).reshape(-1)[0])
        axes = len(producer.input) > 3 and producer.input[3] != ""
        if amounts is None and len(producer.input) > 1:
            raise BankError(
                f"{path.name}: the Pad node before {where[len(path.name) + 2 :]} takes its "
                f"amounts {producer.input[1]!r} from other nodes; the bank needs them stored"
            )
        if amounts is None or axes or len(amounts) != 8 or mode not in _ONNX_BORDERS:
            raise BankError(
                f"{path.name}: the Pad node before {where[len(path.name) + 2 :]} "
                "pads in a way the bank format cannot express"
            )
        if any(amounts[i] for i in (0, 1, 4, 5)) or (mode == "constant" and value != 0.0):
            raise BankError(
                f"{path.name}: the Pad node before {where[len(path.name) + 2 :]} pads the batch "
                "or channel axes, or with a value other than 0; the bank format cannot express it"
            )
        if mode != "constant" and any(pads):
            raise BankError(f"{where} pads with zeros after a {mode} Pad node: two borders")
        settings["border"] = _ONNX_BORDERS[mode]
        pads = [
            pads[0] + amounts[2],
            pads[1] + amounts[3],
            pads[2] + amounts[6],
            pads[3] + amounts[7],
        ]
    # ONNX's order is the starts, then the ends; the bank's is top, bottom, left, right.
    settings["padding"] = "valid" if not any(pads) else (pads[0], pads[2], pads[1], pads[3])
    return settings


def _check_external(tensor: Any, folder: Path, path: Path) -> None:
    """Refuse external data that is not a regular file inside the model's folder."""
    location = next((e.value for e in tensor.external_data if e.key == "location"), "")
    # resolve() follows every symlink, so a link pointing out of the folder is caught too.
    target = (folder / location).resolve()
    if not location or os.path.isabs(location) or not target.is_relative_to(folder):
        raise BankError(
            f"{_where(path, tensor.name)}: external data {location!r} lies outside the "
            "model's folder; it is not read"
        )
    _reading(path, lambda: open_regular(target).close())


def _read_torch(path: Path) -> dict[str, _Stored]:
    torch = _optional("torch", "torch", ".pt")

    def check() -> None:
        with open_regular(path) as f:
            if f.read(len(_ZIP_MAGIC)) == _ZIP_MAGIC:  # the format since PyTorch 1.6
                f.seek(0)
                with zipfile.ZipFile(f) as archive:
                    _check_archive(archive, path)

    _reading(path, check)
    out: dict[str, np.ndarray] = {}
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
        _torch_tensors(data, "", out, torch)
    except Exception as e:  # weights_only refuses anything but tensors and plain containers
        raise BankError(
            f"{path.name}: not a plain PyTorch weights file ({_first_line(e)})"
        ) from None
    return {k: _Stored.loaded(_plain(v, path, k)) for k, v in out.items()}


def _torch_tensors(data: Any, prefix: str, out: dict[str, np.ndarray], torch: Any) -> None:
    if isinstance(data, torch.Tensor):
        out[prefix] = data.detach().cpu().double().numpy()
    elif isinstance(data, dict):
        for k, v in data.items():
            _torch_tensors(v, f"{prefix}.{k}" if prefix else str(k), out, torch)


def conv_tensors(path: str | Path) -> list[tuple[str, tuple[int, ...]]]:
    """The 4-D arrays in a weight file, as (name, shape), in file order: what ``array=`` picks.

    A .npy file's one array is named "". Shapes come from the file's headers where the format
    has them (.npy, .npz, .safetensors, .onnx): listing reads no weights.
    """
    path = Path(path)
    if _kind(path) == ".safetensors":
        st = _optional("safetensors", "safetensors", ".safetensors")
        _reading(path, lambda: open_regular(path).close())
        try:
            with st.safe_open(str(path), framework="numpy") as f:
                shapes = [(k, tuple(f.get_slice(k).get_shape())) for k in f.keys()]  # noqa: SIM118
        except Exception as e:
            raise BankError(f"cannot read {path.name}: {_first_line(e)}") from None
        return [(k, s) for k, s in shapes if len(s) == 4]
    return [(k, a.shape) for k, a in _read_all(path).items() if a.ndim == 4]


def _listing(arrays: dict[str, _Stored]) -> str:
    if not arrays:
        return "no arrays"
    return ", ".join(f"'{k}' {a.shape}" for k, a in arrays.items())


def _pick_weight(arrays: dict[str, _Stored], path: Path, array: str | None) -> str:
    if array is not None:
        if array not in arrays:
            raise BankError(f"{path.name} has no array '{array}'; found {_listing(arrays)}")
        return array
    if len(arrays) == 1:
        return next(iter(arrays))
    four = [k for k, a in arrays.items() if a.ndim == 4]
    named = [k for k in four if any(w in k.lower() for w in _WEIGHT_WORDS)]
    for group in (named, four):
        if len(group) == 1:
            return group[0]
    if not four:
        lower = [k for k, a in arrays.items() if a.ndim in (2, 3)]
        named = [k for k in lower if any(w in k.lower() for w in _WEIGHT_WORDS)]
        for group in (named, lower):
            if len(group) == 1:
                return group[0]
    raise BankError(
        f"{path.name}: cannot tell which array is the conv weight; found {_listing(arrays)}; "
        "pass array='name'"
    )


def _pick_bias(
    arrays: dict[str, _Stored], weight: str, c_out: int, path: Path, bias: str | None
) -> np.ndarray | None:
    if bias is not None:
        if bias not in arrays:
            raise BankError(f"{path.name} has no array '{bias}'; found {_listing(arrays)}")
        b = arrays[bias]
        if b.shape != (c_out,):
            raise BankError(
                f"{path.name}: bias '{bias}' has shape {b.shape}; the weights have "
                f"{c_out} filters, so it must be ({c_out},)"
            )
        return b.read()
    fits = {k for k, a in arrays.items() if a.shape == (c_out,) and "bias" in k.lower()}
    for word in _WEIGHT_WORDS:  # "conv1.weight" -> "conv1.bias", "conv/kernel" -> "conv/bias"
        at = weight.lower().rfind(word)
        if at >= 0:
            twin = weight[:at] + "bias" + weight[at + len(word) :]
            if twin in fits:
                return arrays[twin].read()
    if len(fits) == 1:
        return arrays[fits.pop()].read()
    if len(fits) > 1:
        raise BankError(
            f"{path.name}: several arrays could be the bias ({', '.join(sorted(fits))}); "
            "pass bias='name'"
        )
    return None


# --- layouts -----------------------------------------------------------------------------------


def _to_torch(w: np.ndarray, layout: str, wanted: tuple[int, ...], what: str) -> np.ndarray:
    """The weights as (C_out, C_in, kh, kw), the layout decided as the module docstring says."""
    if w.ndim == 2:
        return w[None, None]
    if w.ndim not in (3, 4):
        raise BankError(
            f"{what} has shape {w.shape}; conv weights are 4-D (torch (C_out, C_in, kh, kw) or "
            "keras (kh, kw, C_in, C_out)), or 2-D/3-D for one filter"
        )
    if w.ndim == 3:  # one filter: torch (C_in, kh, kw), keras (kh, kw, C_in)
        torch_view, keras_view = w[None], np.moveaxis(w, 2, 0)[None]
    else:
        torch_view, keras_view = w, w.transpose(3, 2, 0, 1)
    if layout == "torch":
        return torch_view
    if layout == "keras":
        return keras_view
    fits = {
        name: view
        for name, view in (("torch", torch_view), ("keras", keras_view))
        if view.shape[1] in wanted
    }
    if not fits:
        c_t, c_k = torch_view.shape[1], keras_view.shape[1]
        raise BankError(
            f"{what} has shape {w.shape}: {c_t} input channels read as torch, {c_k} as keras; "
            "a first layer reads the image, so it needs "
            + " or ".join(f"{c} ({'rgb' if c == 3 else 'gray'})" for c in wanted)
        )
    square = {
        n for n, v in (("torch", torch_view), ("keras", keras_view)) if v.shape[2] == v.shape[3]
    }
    views = {"torch": torch_view, "keras": keras_view}

    def reading(name: str) -> str:
        c_out, c_in, kh, kw = views[name].shape
        return f"{name}: {c_out} filters of {kh}x{kw} on {c_in} channels"

    if len(fits) == 2 and len(square) == 1:
        fits = {n: v for n, v in fits.items() if n in square}
    elif len(fits) == 1 and len(wanted) > 1 and square and not square & set(fits):
        # The channels fit only a reading with oblong kernels; the other has square ones.
        (name,) = fits
        raise BankError(
            f"{what} has shape {w.shape}: the layout is ambiguous: pass layout='{name}' if it "
            f"holds what that reading gives ({reading(name)}: oblong kernels; as "
            f"{'keras' if name == 'torch' else 'torch'} it reads another channel count)"
        )
    if len(fits) != 1:
        if torch_view.shape == keras_view.shape and np.array_equal(torch_view, keras_view):
            return torch_view
        raise BankError(
            f"{what} has shape {w.shape}: the layout is ambiguous: pass layout='torch' or "
            f"'keras' ({reading('torch')}; {reading('keras')})"
        )
    return next(iter(fits.values()))


# --- import ------------------------------------------------------------------------------------


def import_weights(
    path: str | Path,
    layout: str = "auto",
    input: str | None = None,
    name: str | None = None,
    array: str | None = None,
    bias: str | None = None,
) -> Bank:
    """A one-layer bank from a trained conv weight array (see the module docstring).

    From an ONNX model the layer runs as the weight's Conv node does: its strides, dilations
    and padding (pads, auto_pad, and a Pad node right before it for reflect, edge or wrap
    borders) and group; a node the bank format cannot express (SAME_LOWER at a stride above 1,
    a Pad of a value other than 0) is refused in one line, never imported otherwise.
    Weights alone (.npy, .npz, .safetensors, .pt) say nothing of that and import as a stride-1
    'same' layer.

    Parameters
    ----------
    path : .npy, .npz, .safetensors, .onnx or .pt/.pth file.
    layout : "auto", "torch" (C_out, C_in, kh, kw) or "keras" (kh, kw, C_in, C_out).
    input : "rgb" or "gray" to require that many input channels (3 or 1); None takes it from
        the weights.
    name : the bank's name; the file's stem by default.
    array : the weight array's name in a file holding several (see `conv_tensors`).
    bias : the bias array's name; by default the one named like the weight ("conv1.weight" ->
        "conv1.bias") or the only 1-D array of length C_out with "bias" in its name.

    Raises BankError (a ValueError) with a one-line message for anything it cannot read.
    """
    path = Path(path)
    if layout not in LAYOUTS:
        raise BankError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    if input is not None and input not in INPUT_CHANNELS:
        raise BankError(f"input must be rgb, gray or None; got {input!r}")
    kind = _kind(path)
    arrays = _read_all(path)
    key = _pick_weight(arrays, path, array)
    _check_shape(arrays[key].shape, path, key)
    w = arrays[key].read()
    what = _where(path, key)
    if layout == "auto" and kind in (".onnx", ".pt"):
        layout = "torch"
    wanted = (INPUT_CHANNELS[input],) if input else (1, 3)
    t = _to_torch(w, layout, wanted, what)
    c_out, c_in, kh, kw = t.shape
    # An ONNX model says how its conv runs; weights alone do not, and import as 'same'.
    settings = _onnx_conv_settings(path, key) if kind == ".onnx" else {"padding": "same"}
    groups = settings.get("groups", 1)
    if c_in * groups not in wanted:
        reads = (
            f"{c_in} input channels"
            if groups == 1
            else (
                f"{c_in} input channel{'s' if c_in != 1 else ''} a filter in {groups} groups, "
                f"{c_in * groups} in all,"
            )
        )
        raise BankError(
            f"{what} has {reads} as {layout}; a first layer reads the image, so it "
            "needs " + " or ".join(f"{c} ({'rgb' if c == 3 else 'gray'})" for c in wanted)
        )
    if c_out > MAX_FILTERS or kh > MAX_KERNEL or kw > MAX_KERNEL:
        raise BankError(
            f"{what}: {c_out} filters of {kh}x{kw}; at most {MAX_FILTERS} filters of "
            f"{MAX_KERNEL}x{MAX_KERNEL} are supported"
        )
    b = _pick_bias(arrays, key, c_out, path, bias)
    try:
        filters = tuple(
            # A named tensor's filters are named as the framework indexes them ("conv1.weight[0]"
            # is filter 1); a bare .npy array's are "filter 1" to "filter N".
            Filter(
                t[o],
                0.0 if b is None else float(b[o]),
                f"{key[: MAX_NAME - 8]}[{o}]" if key else f"filter {o + 1}",
            )
            for o in range(c_out)
        )
        layer = ConvLayer(filters, name=key, **settings)
        return Bank(
            (layer,),
            input="rgb" if c_in * groups == 3 else "gray",
            name=path.stem if name is None else name,
        )
    except BankError as e:
        raise BankError(f"{what}: {e}") from None


# --- export ------------------------------------------------------------------------------------


def _first_conv(bank: Bank) -> tuple[ConvLayer, np.ndarray, np.ndarray]:
    """The first conv layer, its weights as applied (flip done) (C_out, C_in, kh, kw) and bias."""
    layer = next((x for x in bank.layers if isinstance(x, ConvLayer)), None)
    if layer is None:
        raise BankError("the bank has no conv layer to export")
    if bank.layers[0] is not layer:
        raise BankError("the first layer is a pool layer; only a leading conv layer is exported")
    sizes = {f.size for f in layer.filters}
    if len(sizes) > 1:
        raise BankError(
            "the first layer's filters have different sizes "
            f"({', '.join(f'{h}x{w}' for h, w in sorted(sizes))}); one weight array needs one size"
        )
    w = np.stack([f.kernels for f in layer.filters])
    if layer.flip:
        w = w[:, :, ::-1, ::-1]
    return layer, np.ascontiguousarray(w), np.array([f.bias for f in layer.filters])


def export_npy(bank: Bank, path: str | Path, layout: str = "torch") -> Path:
    """Write the first conv layer's weights as one 4-D float32 array in ``layout``.

    A path ending in .npz gets a file with "weight" and "bias" arrays; any other path gets a .npy
    file of the weights only. The weights are written as applied: a flipped layer's kernels are
    written flipped, since frameworks cross-correlate. A layer with groups is written as the
    frameworks hold one, C_in / groups kernels a filter. Stride, padding, groups and the rest
    are not part of the file (`export_snippet` carries them). Written atomically, through a
    symlink to its target (see `write_atomic`). Returns the path written; BankError when it
    cannot be.
    """
    if layout not in EXPORT_LAYOUTS:
        raise BankError(f"layout must be torch or keras; got {layout!r}")
    _, w, b = _first_conv(bank)
    if layout == "keras":
        w = w.transpose(2, 3, 1, 0)
    w = np.ascontiguousarray(w, dtype=np.float32)
    path = Path(path)
    out = io.BytesIO()
    if path.suffix.lower() == ".npz":
        np.savez(out, weight=w, bias=b.astype(np.float32))
    else:
        np.save(out, w, allow_pickle=False)
        if path.suffix.lower() != ".npy":  # as np.save would name it
            path = path.with_name(path.name + ".npy")
    # Never written in place: a full disk or a missing folder must not cost the previous file.
    write_atomic(path, out.getvalue())
    return path


def _pair_text(pair: tuple[int, int]) -> str:
    return f"({pair[0]}, {pair[1]})"


def _literal(values: Any) -> str:
    """A nested list literal of float32 values, each the shortest text that reads back as the
    same float32 (the engine computes in float32: "0.1", not "0.10000000149011612")."""
    if isinstance(values, list):
        return "[" + ", ".join(_literal(v) for v in values) + "]"
    return str(np.float32(values))


def _nested(array: np.ndarray, indent: str) -> str:
    """The values as a nested list literal (see `_literal`), one top-level item a line."""
    rows = [indent + "    " + _literal(item) + "," for item in array.tolist()]
    return "[\n" + "\n".join(rows) + "\n" + indent + "]"


_PADDING_CODE = """

def padding_amounts(h, w):
    \"\"\"(top, bottom, left, right) pixels of padding on an h x w input.\"\"\"
    if PADDING == "valid":
        return 0, 0, 0, 0
    if PADDING == "same":  # output ceil(size / stride), extra pixel after
        amounts = []
        for size, k, s, d in ((h, KH, STRIDE[0], DILATION[0]), (w, KW, STRIDE[1], DILATION[1])):
            total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
            amounts += [total // 2, total - total // 2]
        return tuple(amounts)
    return tuple(PADDING)
"""

# The frameworks' own reflect and circular pads refuse padding as wide as the image; the
# engine's border rules, as indices, have no such limit.
_BORDER_INDEX_CODE = """

def border_index(n, before, after):
    \"\"\"The pixels of an axis n long that BORDER puts at positions -before .. n + after - 1
    (reflect without repeating the edge pixel, replicate, wrap), for pads of any width.\"\"\"
    index = []
    for i in range(-before, n + after):
        if BORDER == "replicate":
            i = min(max(i, 0), n - 1)
        elif BORDER == "wrap":
            i %= n
        elif n == 1:
            i = 0
        else:
            i %= 2 * (n - 1)
            i = i if i < n else 2 * (n - 1) - i
        index.append(i)
    return index
"""


def _header(layer: ConvLayer, w: np.ndarray) -> str:
    return (
        f"KH, KW = {w.shape[2]}, {w.shape[3]}\n"
        f"STRIDE = {_pair_text(layer.stride)}\n"
        f"DILATION = {_pair_text(layer.dilation)}\n"
        f"PADDING = {layer.padding!r}  # 'same', 'valid' or (top, bottom, left, right) pixels\n"
        f"BORDER = {layer.border!r}  # how padding is filled\n"
        f"ACTIVATION = {layer.activation!r}\n"
        + (f"SLOPE = {layer.slope!r}  # leaky-relu's\n" if layer.activation == "leaky-relu" else "")
        + f"GROUPS = {layer.groups}  # filter group g reads input channel group g only\n"
    )


def export_snippet(bank: Bank, framework: str = "numpy") -> str:
    """Ready-to-paste Python that builds the bank's first conv layer with its weights.

    framework "numpy": functions ``conv_layer(x)`` on (C_in, H, W) float planes and
    ``apply(image)`` on an HxW or HxWx3 image (uint8 scaled by 1/255, as the engine does), which
    reproduce the engine's first layer (padding, border, stride, dilation, flip, activation,
    groups). "pytorch": ``conv_layer(x)`` on (N, C_in, H, W) tensors, with F.conv2d. "keras":
    ``conv_layer(x)`` on (N, H, W, C_in) tensors with ``keras.ops`` only, so it runs on Keras 3
    with any backend (TensorFlow, JAX, PyTorch). Both pad the engine's way first, for padding
    of any width (wider than the image too). Weights are written as the shortest text that
    reads back as the float32 the engine computes with; a flipped layer's kernels are written
    flipped.
    """
    if framework not in FRAMEWORKS:
        raise BankError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    layer, w, b = _first_conv(bank)
    head = _header(layer, w)
    if framework == "numpy":
        return _numpy_snippet(bank, w, b, head)
    if framework == "pytorch":
        return _torch_snippet(layer, w, b, head)
    return _keras_snippet(layer, w, b, head)


def _numpy_snippet(bank: Bank, w: np.ndarray, b: np.ndarray, head: str) -> str:
    layer = bank.layers[0]
    assert isinstance(layer, ConvLayer)
    # The bank's name is user text: it enters the code only as a repr literal of its own, never
    # inside a docstring or comment, where a name holding """ or a line break would end them.
    return f'''"""A filter bank's first conv layer, in plain numpy."""

import numpy as np

BANK_NAME = {bank.name!r}

INPUT = {bank.input!r}  # 'rgb': 3 input channels, 'gray': 1 (BT.601 luma)
# Weights as applied (cross-correlation), (C_out, C_in / GROUPS, KH, KW).
WEIGHT = np.array({_nested(w, "")}, dtype=np.float64)
BIAS = np.array({_literal(b.tolist())}, dtype=np.float64)
{head}NUMPY_BORDER = {_NUMPY_BORDERS[layer.border]!r}
{_PADDING_CODE}

def activate(v):
    if ACTIVATION == "relu":
        return np.maximum(v, 0)
    if ACTIVATION == "leaky-relu":
        return np.where(v > 0, v, SLOPE * v)
    if ACTIVATION == "abs":
        return np.abs(v)
    if ACTIVATION == "sigmoid":
        return 1 / (1 + np.exp(-np.clip(v, -80, 80)))
    if ACTIVATION == "tanh":
        return np.tanh(v)
    return v


def conv_layer(x):
    """(C_in, H, W) float planes -> (C_out, H', W') feature maps."""
    x = np.asarray(x, dtype=np.float64)
    _, h, w = x.shape
    top, bottom, left, right = padding_amounts(h, w)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)), mode=NUMPY_BORDER)
    (sy, sx), (dy, dx) = STRIDE, DILATION
    ho = (h + top + bottom - dy * (KH - 1) - 1) // sy + 1
    wo = (w + left + right - dx * (KW - 1) - 1) // sx + 1
    out = np.zeros((WEIGHT.shape[0], ho, wo)) + BIAS[:, None, None]
    per, count = WEIGHT.shape[1], WEIGHT.shape[0] // GROUPS  # channels, filters a group
    for i in range(KH):
        for j in range(KW):
            window = xp[:, i * dy : i * dy + sy * (ho - 1) + 1 : sy,
                        j * dx : j * dx + sx * (wo - 1) + 1 : sx]
            for g in range(GROUPS):
                filters, channels = slice(g * count, (g + 1) * count), slice(g * per, (g + 1) * per)
                out[filters] += np.einsum("oc,chw->ohw", WEIGHT[filters, :, i, j], window[channels])
    return activate(out)


def to_planes(image):
    """HxW or HxWx3(+alpha) image -> (C_in, H, W) float planes; uint8 is scaled by 1/255."""
    img = np.asarray(image)
    x = img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img.astype(np.float64)
    if x.ndim == 3:
        x = x[:, :, :3] if x.shape[2] >= 3 else x[:, :, 0]
    if INPUT == "gray":
        if x.ndim == 3:
            x = 0.299 * x[:, :, 0] + 0.587 * x[:, :, 1] + 0.114 * x[:, :, 2]
        return x[None]
    return np.stack([x, x, x]) if x.ndim == 2 else np.moveaxis(x, 2, 0)


def apply(image):
    return conv_layer(to_planes(image))
'''


def _torch_snippet(layer: ConvLayer, w: np.ndarray, b: np.ndarray, head: str) -> str:
    return f'''"""A filter bank's first conv layer in PyTorch."""

import torch
import torch.nn.functional as F

# Weights as applied (PyTorch cross-correlates), (C_out, C_in / GROUPS, KH, KW).
WEIGHT = torch.tensor({_nested(w, "")}, dtype=torch.float32)
BIAS = torch.tensor({_literal(b.tolist())}, dtype=torch.float32)
{head}{_PADDING_CODE}{_BORDER_INDEX_CODE}

ACTIVATIONS = {{"none": lambda v: v, "relu": torch.relu, "abs": torch.abs,
               "sigmoid": torch.sigmoid, "tanh": torch.tanh,
               "leaky-relu": lambda v: F.leaky_relu(v, SLOPE)}}


def pad(x):
    """(N, C, H, W) padded the engine's way, by PADDING and BORDER."""
    top, bottom, left, right = padding_amounts(x.shape[-2], x.shape[-1])
    if BORDER == "zero":
        return F.pad(x, (left, right, top, bottom))
    rows = torch.tensor(border_index(x.shape[-2], top, bottom))
    cols = torch.tensor(border_index(x.shape[-1], left, right))
    return x.index_select(-2, rows).index_select(-1, cols)


def conv_layer(x):
    """(N, C_in, H, W) float tensor -> (N, C_out, H', W')."""
    y = F.conv2d(pad(x), WEIGHT, BIAS, stride=STRIDE, dilation=DILATION, groups=GROUPS)
    return ACTIVATIONS[ACTIVATION](y)
'''


def _keras_snippet(layer: ConvLayer, w: np.ndarray, b: np.ndarray, head: str) -> str:
    kw = w.transpose(2, 3, 1, 0)  # (KH, KW, C_in / groups, C_out)
    return f'''"""A filter bank's first conv layer in Keras 3 (channels last), keras.ops only:
it runs on any backend (TensorFlow, JAX or PyTorch; set KERAS_BACKEND)."""

import numpy as np
from keras import ops

# Weights as applied (Keras cross-correlates), (KH, KW, C_in / GROUPS, C_out).
WEIGHT = np.array({_nested(kw, "")}, dtype="float32")
BIAS = np.array({_literal(b.tolist())}, dtype="float32")
{head}{_PADDING_CODE}{_BORDER_INDEX_CODE}

ACTIVATIONS = {{"none": lambda v: v, "relu": ops.relu, "abs": ops.abs,
               "sigmoid": ops.sigmoid, "tanh": ops.tanh,
               "leaky-relu": lambda v: ops.leaky_relu(v, negative_slope=SLOPE)}}


def pad(x):
    """(N, H, W, C) padded the engine's way, by PADDING and BORDER."""
    top, bottom, left, right = padding_amounts(x.shape[1], x.shape[2])
    if BORDER == "zero":
        return ops.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]])
    x = ops.take(x, border_index(x.shape[1], top, bottom), axis=1)
    return ops.take(x, border_index(x.shape[2], left, right), axis=2)


def conv_layer(x):
    """(N, H, W, C_in) float tensor -> (N, H', W', C_out)."""
    x = pad(ops.convert_to_tensor(x, dtype="float32"))
    per, count = WEIGHT.shape[2], WEIGHT.shape[3] // GROUPS  # channels, filters a group
    # One conv a group; the stride by slicing the stride-1 output (TensorFlow cannot combine
    # strides > 1 with dilation > 1 in one conv).
    maps = [
        ops.conv(x[..., g * per : (g + 1) * per], WEIGHT[..., g * count : (g + 1) * count],
                 strides=1, padding="valid", dilation_rate=DILATION)
        for g in range(GROUPS)
    ]
    y = maps[0] if GROUPS == 1 else ops.concatenate(maps, axis=-1)
    return ACTIVATIONS[ACTIVATION](y[:, :: STRIDE[0], :: STRIDE[1], :] + BIAS)
'''


__all__ = ["conv_tensors", "export_npy", "export_snippet", "import_weights"]
