"""Fuzzing: random and mutated JSON at the bank reader, random banks and images at Bank.apply.

The contract: only BankError ever escapes, with a one-line message naming the place; never
another exception, a crash, a hang or a huge allocation.
"""

from __future__ import annotations

import copy
import json
import math
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from playground import Bank, BankError, Filter, dumps_bank, load_bank, parse_bank, save_bank
from playground.engine.bank import (
    MAX_FILTERS,
    MAX_KERNEL,
    MAX_LAYERS,
    MAX_PADDING,
    MAX_SPAN,
    MAX_STEP,
    MAX_WEIGHT,
)
from tests.engine.test_apply import bank_dict, conv_layer

BANKS = sorted((Path(__file__).resolve().parents[2] / "resources" / "banks").glob("*.json"))
TAG = "filter-playground.bank"
F32_MAX = float(np.finfo(np.float32).max)


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


def check_message(error: BankError) -> str:
    message = str(error)
    assert message.strip(), "a BankError without a message"
    assert len(message.splitlines()) == 1 and "\n" not in message, repr(message)
    return message


def refused(fn, *args, match: str | None = None) -> str:
    with pytest.raises(BankError, match=match) as info:
        fn(*args)
    return check_message(info.value)


def outcome(fn, *args):
    """``fn(*args)``: a Bank, or the BankError it raised (checked). Anything else escapes."""
    try:
        bank = fn(*args)
    except BankError as e:
        check_message(e)
        return e
    assert isinstance(bank, Bank)
    return bank


def assert_round_trips(bank: Bank, folder: Path) -> None:
    assert parse_bank(dumps_bank(bank)) == bank
    assert Bank.from_dict(json.loads(json.dumps(bank.to_dict()))) == bank
    path = folder / "saved.json"
    save_bank(bank, path)
    assert load_bank(path) == bank


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


# --- strategies --------------------------------------------------------------------------------

KEYS = (
    *("format", "version", "name", "input", "layers", "type", "op", "size", "stride"),
    *("padding", "border", "dilation", "flip", "activation", "filters", "bias", "kernels"),
    *("slope", "groups"),
)
WORDS = (
    *("conv", "pool", "max", "avg", "valid", "same", "zero", "reflect", "replicate", "wrap"),
    *("none", "relu", "abs", "sigmoid", "tanh", "rgb", "gray", TAG, "", "1", "0.5"),
    *("a\nb", "line\u2028break", "it's", "\x00", "\ud800", "ümlaut", "x" * 201),
)
NUMBERS = (
    *(0, 1, -1, 2, 3, 64, 65, 101, 102, 1023, 1024, 1025, 2**31, 2**63, 2**64, -(2**63)),
    *(10**400, -(10**400), 10**4000, 0.5, -0.0, 1.5, MAX_WEIGHT, MAX_WEIGHT + 1, -MAX_WEIGHT),
    *(1e300, 1e-320, math.nan, math.inf, -math.inf),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from(NUMBERS),
    st.sampled_from(WORDS),
    st.text(max_size=6),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


def either(good, bad=json_values):
    """Mostly a sensible value, sometimes any JSON value (or ``bad``)."""
    return st.integers(0, 7).flatmap(lambda i: bad if i == 7 else good)


small_pair = either(
    st.one_of(st.integers(0, 3), st.lists(st.integers(0, 3), min_size=2, max_size=2)),
    st.sampled_from(NUMBERS),
)


@st.composite
def kernels_like(draw):
    c = draw(st.sampled_from([1, 1, 1, 3, 2]))
    h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    weight = either(st.one_of(st.integers(-3, 3), st.floats(-2, 2)), st.sampled_from(NUMBERS))
    return [[[draw(weight) for _ in range(w)] for _ in range(h)] for _ in range(c)]


filter_like = st.fixed_dictionaries(
    {"kernels": either(kernels_like())},
    optional={
        "name": either(st.sampled_from(WORDS)),
        "bias": either(st.floats(-1, 1)),
    },
)
conv_like = st.fixed_dictionaries(
    {"filters": either(st.lists(either(filter_like), min_size=1, max_size=3))},
    optional={
        "type": either(st.just("conv")),
        "name": either(st.text(max_size=4)),
        "stride": either(small_pair),
        "padding": either(
            st.one_of(
                st.sampled_from(["valid", "same"]),
                small_pair,
                st.lists(st.integers(0, 3), min_size=3, max_size=5),
            )
        ),
        "groups": either(st.integers(0, 4)),
        "border": either(st.sampled_from(["zero", "reflect", "replicate", "wrap"])),
        "dilation": either(small_pair),
        "flip": either(st.booleans()),
        "activation": either(st.sampled_from(["none", "relu", "abs", "sigmoid", "tanh"])),
    },
)
pool_like = st.fixed_dictionaries(
    {"type": st.just("pool")},
    optional={
        "op": either(st.sampled_from(["max", "avg"])),
        "size": either(small_pair),
        "stride": either(st.one_of(st.none(), small_pair)),
        "name": either(st.text(max_size=4)),
    },
)
bank_like = st.fixed_dictionaries(
    {
        "format": either(st.just(TAG)),
        "version": either(st.just(1)),
        "layers": either(
            st.lists(st.one_of(conv_like, conv_like, pool_like), min_size=1, max_size=3)
        ),
    },
    optional={
        "name": either(st.text(max_size=4)),
        "input": either(st.sampled_from(["gray", "gray", "rgb"])),
    },
)


# --- 1. arbitrary JSON and bytes at the reader -------------------------------------------------


def write_json(folder: Path, value) -> Path | None:
    try:
        text = json.dumps(value)  # NaN and Infinity are written as the tokens json reads back
    except ValueError:
        return None  # an integer past Python's 4300-digit limit: JSON text cannot hold it
    path = folder / "bank.json"
    path.write_text(text, encoding="utf-8")
    return path


@fuzz(300)
@given(st.one_of(json_values, bank_like))
@example({"format": TAG, "version": 1, "layers": [{"filters": [{"bias": 10**400}]}]})
@example({"format": TAG, "version": 1, "layers": [{"filters": [{"name": "a\nb", "kernels": 1}]}]})
@example({"format": TAG, "version": 1, "input": "gray", "layers": [{"stride": 10**4000}]})
@example({"format": TAG, "version": 1, "layers": [], 10**5000: 1, None: 2, "x": 3})
@example({"format": TAG, "version": 10**5000, "layers": []})
@example({"format": TAG, "version": 1, "layers": [{"filters": [{"kernels": [[[10**5000]]]}]}]})
def test_any_json_value_is_a_bank_or_a_bank_error(folder, value):
    outcome(Bank.from_dict, value)  # also Python values JSON cannot hold (giant ints, odd keys)
    path = write_json(folder, value)
    if path is None:
        return
    text = path.read_text(encoding="utf-8")
    from_text = outcome(parse_bank, text)
    from_file = outcome(load_bank, path)
    if isinstance(from_file, BankError):
        assert str(from_file).startswith("bank.json: ")
        assert str(from_file) == f"bank.json: {from_text}"
    else:
        assert from_file == from_text
        assert_round_trips(from_file, folder)


@fuzz(200)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
@example(b"\xff\xfe{}")
@example(b'{"format": "filter-playground.bank", "name": "\xe9"}')
@example(b"1" * 5000)
@example(b"[" * 100000)
@example(b"[" * 100000 + b"]" * 100000)
@example(b'{"a":' * 100000)
@example(b'{"format": "filter-playground.bank", "version": 1, "layers": [{"stride": ' + b"[" * 5000)
@example(
    b"\xef\xbb\xbf" + json.dumps(bank_dict([conv_layer([{"kernels": [[[1]]]}])], "gray")).encode()
)
def test_any_bytes_are_a_bank_or_a_bank_error(folder, raw):
    outcome(parse_bank, raw)
    path = folder / "raw.json"
    path.write_bytes(raw)
    result = outcome(load_bank, path)
    if isinstance(result, BankError):
        assert str(result).startswith("raw.json: ")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    outcome(parse_bank, text)


@fuzz(100)
@given(st.sampled_from(BANKS), st.floats(0, 1), st.text(max_size=3))
def test_truncated_and_spliced_bank_files_are_banks_or_bank_errors(bank_path, where, splice):
    text = bank_path.read_text(encoding="utf-8")
    cut = int(where * (len(text) - 1))
    outcome(parse_bank, text[:cut])
    outcome(parse_bank, text[:cut] + splice + text[cut:])


def test_json_nested_deeper_than_python_recurses_is_a_bank_error():
    depth = 200
    while depth < 200000:
        for opener, closer in (("[", "]"), ('{"a":', "}")):
            refused(parse_bank, opener * depth)
            result = outcome(parse_bank, opener * depth + "1" + closer * depth)
            assert isinstance(result, BankError)
        depth *= 4


def test_integers_too_long_for_python_are_a_bank_error():
    # json.loads raises a plain ValueError past sys.get_int_max_str_digits().
    text = json.dumps(bank_dict([conv_layer([{"kernels": [[[12345]]]}])], "gray"))
    for digits, match in ((400, "must be between"), (5000, "not valid JSON: .* too many digits")):
        refused(parse_bank, text.replace("12345", "9" * digits), match=match)
        refused(parse_bank, text.replace("12345", "1.5e" + "9" * digits), match="finite")


# --- 2. mutated bundled banks ------------------------------------------------------------------


def node_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from node_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from node_paths(v, (*prefix, i))


MUTATIONS = (
    *("delete", "replace", "number", "wrap", "unwrap", "empty", "shorten", "lengthen"),
    *("layer-type", "duplicate"),
)


@st.composite
def mutated_banks(draw):
    data = json.loads(draw(st.sampled_from(BANKS)).read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(node_paths(data))))
        op = draw(st.sampled_from(MUTATIONS))
        parent = None
        value = data
        for key in path:
            parent, value = value, value[key]
        if op == "delete":
            if parent is not None:
                del parent[path[-1]]
            continue
        if op == "replace":
            new = draw(json_values)
        elif op == "number":
            new = draw(st.one_of(st.sampled_from(NUMBERS), st.floats(), st.integers()))
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                new = draw(st.sampled_from([new, value + 0.5, -value, value * 10**6, float(value)]))
        elif op == "wrap":
            new = [value]
        elif op == "unwrap":
            new = value[0] if isinstance(value, list) and value else value
        elif op == "empty":
            new = {} if isinstance(value, dict) else []
        elif op == "shorten":
            new = value[:-1] if isinstance(value, list) else value
        elif op == "lengthen":
            new = [*value, value[-1] if value else 0] if isinstance(value, list) else value
        elif op == "layer-type":
            layers = data.get("layers") if isinstance(data, dict) else None
            if isinstance(layers, list) and layers and isinstance(layers[0], dict):
                layer = draw(st.sampled_from([la for la in layers if isinstance(la, dict)]))
                layer["type"] = "conv" if layer.get("type") == "pool" else "pool"
            continue
        else:  # duplicate a list's item: one more layer, filter, channel or row
            if isinstance(value, list) and value:
                value.insert(0, copy.deepcopy(value[draw(st.integers(0, len(value) - 1))]))
            continue
        if parent is None:
            data = new
        else:
            parent[path[-1]] = new
    return data


@fuzz(300)
@given(mutated_banks())
def test_mutated_bundled_banks_are_banks_that_round_trip_or_bank_errors(folder, data):
    result = outcome(Bank.from_dict, data)
    path = write_json(folder, data)
    if path is not None:
        from_file = outcome(load_bank, path)
        assert type(from_file) is type(result)
        if isinstance(result, BankError):
            assert str(from_file) == f"bank.json: {result}"
    if isinstance(result, Bank):
        assert_round_trips(result, folder)


def test_bundled_banks_load_and_round_trip(folder):
    for path in BANKS:
        bank = load_bank(path)
        assert_round_trips(bank, folder)


def test_names_with_lone_surrogates_save_and_load(folder):
    # "\ud800" is valid JSON; the saved file must stay UTF-8 and read back the same name.
    text = json.dumps({**bank_dict([conv_layer([{"kernels": [[[1]]]}])], "gray"), "name": "\ud800"})
    bank = parse_bank(text)
    assert bank.name == "\ud800"
    assert_round_trips(bank, folder)


def test_names_with_line_breaks_stay_on_one_line_in_messages():
    for name in ("a\nb", "a\rb", "a\u2028b", "a\x85b"):
        d = bank_dict([conv_layer([{"name": name, "kernels": [[[1]]]}])], "gray")
        d["layers"][0]["filters"][0]["kernels"] = [[[math.nan]]]
        refused(Bank.from_dict, d)
        d["layers"][0]["filters"][0]["kernels"] = [[[1]], [[1]]]  # channel mismatch
        refused(Bank.from_dict, d)
        d["layers"][0]["filters"][0]["kernels"] = [[[1]]]
        d["layers"][0]["filters"].append({"kernels": [[[1, 2]]]})  # size mismatch
        refused(Bank.from_dict, d)


def test_a_file_name_with_a_line_break_stays_on_one_line(folder):
    path = folder / "two\nlines.json"
    path.write_text("{", encoding="utf-8")
    refused(load_bank, path)
    refused(load_bank, folder / "missing\nfile.json")


# --- giant sizes are refused before any work ---------------------------------------------------


def refused_cheaply(data, match: str) -> None:
    """Bank.from_dict refuses ``data`` without allocating or computing much."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(BankError, match=match) as info:
            Bank.from_dict(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    check_message(info.value)
    assert peak < 2**20, f"{peak} bytes allocated to refuse it"
    assert time.perf_counter() - start < 1


def one_filter_bank(kernels, **layer):
    return bank_dict([conv_layer([{"kernels": kernels}], **layer)], "gray")


def test_giant_kernels_are_refused_before_their_weights_are_read():
    wide = [0] * 10**6
    refused_cheaply(one_filter_bank([[wide]]), f"at most {MAX_KERNEL}x{MAX_KERNEL}")
    refused_cheaply(one_filter_bank([[[0]] * 10**6]), f"at most {MAX_KERNEL}x{MAX_KERNEL}")
    refused_cheaply(one_filter_bank([[[0]]] * 10**6), f"at most {MAX_FILTERS}")
    refused_cheaply(one_filter_bank([[[wide]]]), "nested 3 deep")
    refused_cheaply(one_filter_bank([[[0] * 102] * 101] * 2), "at most 101x101")
    refused_cheaply(one_filter_bank([[["x"] * 102]]), "at most 101x101")


def test_giant_layers_and_filter_counts_are_refused_before_they_are_built():
    refused_cheaply(bank_dict([{"filters": [{"kernels": [[[0]]]}] * 10**5}], "gray"), "at most")
    refused_cheaply(bank_dict([{"type": "pool"}] * 10**5, "gray"), f"at most {MAX_LAYERS}")


@pytest.mark.parametrize("value", [10**9, [1, 10**9], -(10**9), 2**64, MAX_STEP + 1])
def test_giant_layer_settings_are_refused(value):
    for setting in ("stride", "dilation", "padding"):
        if setting == "padding" and value == MAX_STEP + 1:
            continue  # a valid padding
        bank = one_filter_bank([[[1]]], **{setting: value})
        refused_cheaply(bank, f"{setting} must be between")
    for setting in ("size", "stride"):
        bank = bank_dict([{"type": "pool", "size": 1, setting: value}], "gray")
        refused_cheaply(bank, f"pool {setting} must be between")


def test_a_padding_past_its_limit_is_refused():
    refused_cheaply(one_filter_bank([[[1]]], padding=[0, MAX_PADDING + 1]), "padding must be")


def test_giant_numpy_kernels_are_refused_before_they_are_copied():
    # A broadcast view describes 10**9 weights in a few bytes; copying it would take 8 GB.
    tracemalloc.start()
    try:
        with pytest.raises(BankError, match="at most 101x101"):
            Filter(np.broadcast_to(np.float64(0), (1, 1, 10**9)))
        with pytest.raises(BankError, match=f"at most {MAX_FILTERS}"):
            Filter(np.broadcast_to(np.float64(0), (10**9, 1, 1)))
        with pytest.raises(BankError, match=f"at most {MAX_FILTERS}"):
            Filter.repeated(np.ones((3, 3)), 10**9)
        with pytest.raises(BankError, match="must not be empty"):
            Filter.repeated(np.ones((3, 3)), -1)
        with pytest.raises(BankError, match="channels must be an integer"):
            Filter.repeated(np.ones((3, 3)), 1.5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_dilated_kernel_wider_than_the_engine_builds_is_refused():
    # 101 taps spaced 64 apart span 6401 pixels: the engine would build (and factor) a dense
    # 6401x6401 grid per channel, minutes of work and gigabytes for 40 kB of JSON.
    big = [[[1] * MAX_KERNEL] * MAX_KERNEL]
    refused_cheaply(one_filter_bank(big, dilation=MAX_STEP, padding="same"), f"{MAX_SPAN}")
    refused_cheaply(one_filter_bank([[[1] * 101]], dilation=[1, 11], padding="same"), "span")
    # The largest span allowed runs at once on a small image.
    taps = (MAX_SPAN - 1) // MAX_STEP + 1
    bank = Bank.from_dict(one_filter_bank([[[1] * taps] * 3], dilation=MAX_STEP, padding="same"))
    start = time.perf_counter()
    (out,) = bank.apply(np.ones((4, 4), np.float32))
    assert out.shape == (1, 4, 4)
    assert time.perf_counter() - start < 2


# --- 3. random valid banks at random images ----------------------------------------------------


@st.composite
def valid_banks(draw):
    """Banks from_dict accepts, with settings up to their limits and moderate kernels."""
    mode = draw(st.sampled_from(["rgb", "gray"]))
    channels = 3 if mode == "rgb" else 1
    layers = []
    n_layers = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step = st.one_of(st.integers(1, 3), st.just(MAX_STEP))
    pair = st.one_of(step, st.lists(step, min_size=2, max_size=2))
    for n in range(n_layers):
        if draw(st.integers(0, 3)) == 0:
            pool = {"type": "pool", "op": draw(st.sampled_from(["max", "avg"])), "size": draw(pair)}
            if draw(st.booleans()):
                pool["stride"] = draw(pair)
            layers.append(pool)
            continue
        # Padding at its limit on one axis of the last layer only: on both axes, or before
        # another layer, every such example would work on 2049-pixel-square maps.
        small = st.integers(0, 3)
        paddings = [
            st.sampled_from(["valid", "same"]),
            small,
            st.lists(small, min_size=2, max_size=2),
            st.lists(small, min_size=4, max_size=4),
        ]
        if n == n_layers - 1:
            paddings.append(
                st.sampled_from([[MAX_PADDING, 0], [1, MAX_PADDING], [0, MAX_PADDING, 2, 0]])
            )
        padding = draw(st.one_of(*paddings))
        dilation = draw(pair)
        # A dilated kernel may span up to MAX_SPAN; moderate kernels keep the work small.
        limit = 9 if dilation in (1, 2, 3) else 3
        sizes = st.integers(1, limit)
        size = (draw(sizes), draw(sizes))
        # Groups split the channels and the filters alike.
        groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
        count = draw(st.integers(1, 3)) if groups == 1 else groups * draw(st.integers(1, 2))
        kernels = channels // groups
        filters = []
        for _ in range(count):
            if padding == "same" and draw(st.booleans()):
                size = (draw(sizes), draw(sizes))
            kind = draw(st.sampled_from(["normal", "huge", "zero", "shared", "rank1", "ints"]))
            shape = (kernels, *size)
            if kind == "huge":
                k = rng.uniform(-MAX_WEIGHT, MAX_WEIGHT, shape)
            elif kind == "zero":
                k = np.zeros(shape)
                k[rng.integers(kernels)] = rng.standard_normal(size) * draw(st.booleans())
            elif kind == "shared":
                k = np.repeat(rng.standard_normal((1, *size)), kernels, axis=0)
            elif kind == "rank1":
                k = np.einsum(
                    "ci,cj->cij",
                    rng.standard_normal((kernels, size[0])),
                    rng.standard_normal((kernels, size[1])),
                )
            elif kind == "ints":
                k = rng.integers(-2, 3, shape).astype(float)
            else:
                k = rng.standard_normal(shape)
            bias = draw(st.sampled_from([0.0, 0.5, -MAX_WEIGHT, MAX_WEIGHT]))
            filters.append({"kernels": k.tolist(), "bias": bias})
        layers.append(
            conv_layer(
                filters,
                stride=draw(pair),
                dilation=dilation,
                padding=padding,
                border=draw(st.sampled_from(["zero", "reflect", "replicate", "wrap"])),
                flip=draw(st.booleans()),
                activation=draw(st.sampled_from(["none", "relu", "abs", "sigmoid", "tanh"])),
                **({"groups": groups} if groups != 1 else {}),
            )
        )
        channels = len(filters)
    return Bank.from_dict(bank_dict(layers, mode))


@st.composite
def images(draw):
    h = draw(st.one_of(st.integers(1, 4), st.integers(1, 64)))
    w = draw(st.one_of(st.integers(1, 4), st.integers(1, 64)))
    shape = draw(st.sampled_from([(h, w), (h, w, 1), (h, w, 3), (h, w, 4)]))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64, np.float16, np.int16]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if dtype == np.int16:
        return rng.integers(-(2**15), 2**15, shape, dtype=np.int16)
    image = rng.random(shape).astype(dtype)
    extremes = [None, None, math.nan, math.inf, -math.inf, 1e30, -1e30, F32_MAX, -F32_MAX]
    extreme = draw(st.sampled_from(extremes))
    if extreme is not None:
        with np.errstate(over="ignore"):  # 1e30 is inf in float16
            image.flat[rng.integers(image.size)] = extreme
            if draw(st.booleans()):  # valid pixels whose sums overflow float32
                image[...] = np.where(rng.random(shape) < 0.5, extreme, -extreme)
    return image


def expected_shapes(bank: Bank, image: np.ndarray):
    try:
        return bank.output_shapes(image.shape[0], image.shape[1])
    except BankError as e:
        check_message(e)
        return None


@fuzz(150)
@given(valid_banks(), images())
def test_random_banks_on_random_images_give_maps_or_a_bank_error(bank, image):
    shapes = expected_shapes(bank, image)
    used = image[:, :, :3] if image.ndim == 3 else image  # alpha is ignored
    finite = image.dtype.kind != "f" or bool(np.all(np.isfinite(used)))
    try:
        outputs, partials = bank.apply(image, partials=True)
    except BankError as e:
        check_message(e)
        assert shapes is None or not finite, f"refused a runnable bank: {e}"
        return
    assert shapes is not None and finite
    assert [out.shape for out in outputs] == shapes
    assert all(out.dtype == np.float32 for out in outputs)
    channels = bank.channels()
    for n, (layer, maps) in enumerate(zip(bank.layers, partials)):
        if not hasattr(layer, "filters"):
            assert maps is None
            continue
        assert len(maps) == len(layer.filters)
        # One partial map per kernel: per input channel, or per channel of its group.
        kernels = channels[n] // layer.groups
        for m in maps:
            assert m.dtype == np.float32 and m.shape == (kernels, *shapes[n][1:])
    assert [out.shape for out in bank.apply(image)] == shapes


@fuzz(100)
@given(valid_banks(), images(), st.data())
def test_runs_with_a_random_selection_give_maps_or_a_bank_error(bank, image, data):
    shapes = expected_shapes(bank, image)
    n = data.draw(st.integers(0, len(bank.layers) - 1))
    layer = bank.layers[n]
    count = len(layer.filters) if hasattr(layer, "filters") else 1
    selected = data.draw(st.one_of(st.none(), st.tuples(st.just(n), st.integers(0, count - 1))))
    try:
        run = bank.run(image, selected)
    except BankError as e:
        check_message(e)
        return
    assert shapes is not None
    assert [out.shape for out in run.outputs] == shapes
    assert all(out.dtype == np.float32 for out in run.outputs)
    if selected is None or not hasattr(layer, "filters"):
        assert run.partials is None
    else:
        assert run.partials.dtype == np.float32
        # One partial map per kernel of the selected filter (its group's channels).
        kernels = bank.layers[n].filters[0].in_channels
        assert run.partials.shape == (kernels, *shapes[n][1:])


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (1, 1, 3), (2, 2, 4)])
@pytest.mark.parametrize("padding", ["valid", "same", MAX_PADDING])
def test_degenerate_images_with_settings_at_their_limits(shape, padding):
    image = np.full(shape, 0.5, np.float32)
    for setting in ("stride", "dilation"):
        d = bank_dict([conv_layer([{"kernels": [[[1, 2], [3, 4]]] * 3}], padding=padding)])
        d["layers"][0][setting] = MAX_STEP
        d["layers"].append({"type": "pool", "size": 1, "stride": MAX_STEP})
        bank = Bank.from_dict(d)
        shapes = expected_shapes(bank, image)
        if shapes is None:
            refused(bank.apply, image)
            continue
        outputs = bank.apply(image)
        assert [out.shape for out in outputs] == shapes


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 5), np.float32),
        np.zeros((5, 5, 2), np.float32),
        np.zeros((2, 2, 2, 2), np.float32),
        np.zeros(5, np.float32),
        np.zeros((3, 3), bool),
        np.zeros((3, 3), complex),
        np.full((3, 3), "x"),
        np.full((3, 3), math.nan, np.float32),
        np.full((3, 3, 3), 1e300),
    ],
)
def test_images_the_engine_cannot_read_are_bank_errors(image):
    bank = Bank.from_dict(bank_dict([conv_layer([{"kernels": [[[1]]] * 3}])]))
    refused(bank.apply, image)


def test_stacks_that_overflow_float32_give_infinity_not_warnings():
    # Weights of 1e6 through six layers pass float32's range: OpenCV gives inf silently, and the
    # numpy sums and pools after it must not warn (the tests make warnings errors).
    rng = np.random.default_rng(5)
    layers, channels = [], 3
    for n in range(6):
        signs = rng.choice([-MAX_WEIGHT, MAX_WEIGHT], (2, channels, 3, 3))
        signs[:, 1:] = signs[:, :1]  # shared kernels: the channels are summed first
        filters = [{"kernels": k.tolist(), "bias": MAX_WEIGHT} for k in signs]
        layers.append(conv_layer(filters, padding="same", activation=["none", "abs"][n % 2]))
        layers.append({"type": "pool", "op": ["avg", "max"][n % 2], "size": 2, "stride": 1})
        channels = 2
    bank = Bank.from_dict(bank_dict(layers))
    for image in (np.ones((20, 20, 3), np.float32), np.full((20, 20, 3), F32_MAX, np.float32)):
        outputs, _ = bank.apply(image, partials=True)
        assert not np.all(np.isfinite(outputs[-1]))
        bank.apply(image)
        bank.run(image, selected=(10, 1))
