"""Bank files: the v1 format users write by hand, its errors, and saves that never lose a file."""

from __future__ import annotations

import json
import os
import stat
import tempfile

import numpy as np
import pytest

import playground
from playground import Bank, BankError, ConvLayer, Filter, PoolLayer, load_bank, save_bank
from tests.isolated import run_python

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def valid_dict():
    return {
        "format": "filter-playground.bank",
        "version": 1,
        "name": "edges",
        "input": "rgb",
        "layers": [
            {
                "type": "conv",
                "name": "edges",
                "stride": 1,
                "padding": "same",
                "border": "zero",
                "dilation": 1,
                "flip": False,
                "activation": "relu",
                "filters": [{"name": "sobel-x", "bias": 0.0, "kernels": [SOBEL_X] * 3}],
            },
            {"type": "pool", "op": "max", "size": 2, "stride": 2},
        ],
    }


def write(tmp_path, text, name="bank.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_documented_example_loads_with_its_values(tmp_path):
    bank = load_bank(write(tmp_path, json.dumps(valid_dict())))
    conv, pool = bank.layers
    assert bank.name == "edges" and bank.input == "rgb"
    assert isinstance(conv, ConvLayer) and isinstance(pool, PoolLayer)
    assert conv.padding == "same" and conv.activation == "relu" and conv.stride == (1, 1)
    assert conv.filters[0].name == "sobel-x"
    assert conv.filters[0].kernels.shape == (3, 3, 3)
    assert conv.filters[0].kernels[2].tolist() == SOBEL_X
    assert pool.size == (2, 2) and pool.stride == (2, 2) and pool.op == "max"


def test_defaults_fill_missing_settings(tmp_path):
    minimal = {
        "format": "filter-playground.bank",
        "version": 1,
        "input": "gray",
        "layers": [{"filters": [{"kernels": [[[1, 2], [3, 4]]]}]}, {"type": "pool"}],
    }
    conv, pool = load_bank(write(tmp_path, json.dumps(minimal))).layers
    assert (conv.stride, conv.padding, conv.border, conv.dilation) == (
        (1, 1),
        "valid",
        "zero",
        (1, 1),
    )
    assert (conv.flip, conv.activation, conv.filters[0].bias) == (False, "none", 0.0)
    assert (pool.op, pool.size, pool.stride) == ("max", (2, 2), (2, 2))


def test_save_then_load_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(0)
    bank = Bank(
        (
            ConvLayer(
                (
                    Filter(rng.standard_normal((1, 3, 5)), 0.125, "random"),
                    Filter(np.full((1, 3, 5), 1 / 9), -1.0, "ninths ümlaut"),
                ),
                name="first",
                stride=(2, 1),
                padding=(1, 2),
                border="wrap",
                dilation=(1, 2),
                flip=True,
                activation="tanh",
            ),
            PoolLayer("avg", (3, 2), (1, 2), name="pool"),
        ),
        input="gray",
        name="round trip",
    )
    path = tmp_path / "bank.json"
    save_bank(bank, path)
    loaded = load_bank(path)
    assert loaded == bank
    assert loaded.layers[0].filters[1].kernels[0, 0, 0] == 1 / 9  # float64 kept exactly


def test_saved_file_is_readable_json_with_integer_weights_and_one_row_per_line(tmp_path):
    path = tmp_path / "bank.json"
    save_bank(Bank.from_dict(valid_dict()), path)
    text = path.read_text(encoding="utf-8")
    assert "[-1, 0, 1]" in text and "[-2, 0, 2]" in text
    data = json.loads(text)
    assert data["format"] == "filter-playground.bank" and data["version"] == 1
    assert data["layers"][0]["filters"][0]["kernels"][0] == SOBEL_X


def test_banks_are_immutable_and_edits_return_new_banks():
    bank = Bank.from_dict(valid_dict())
    with pytest.raises(ValueError):
        bank.layers[0].filters[0].kernels[0, 0, 0] = 5.0
    edited = bank.with_kernel(0, 0, 1, np.zeros((3, 3)))
    assert edited.layers[0].filters[0].kernels[1].tolist() == [[0.0] * 3] * 3
    assert bank.layers[0].filters[0].kernels[1].tolist() == SOBEL_X
    assert edited != bank


# --- every problem is a BankError that names its place ---------------------------------------


def mutate(path_to, value):
    d = valid_dict()
    target = d
    for key in path_to[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path_to[-1]]
    else:
        target[path_to[-1]] = value
    return json.dumps(d)


F = ("layers", 0, "filters", 0)
L = ("layers", 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON.*line 1"),
        ("", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        (mutate(("format",), "something-else"), "not a bank file"),
        (mutate(("version",), 2), "unsupported bank version 2"),
        (mutate(("version",), "1"), "unsupported bank version"),
        (mutate(("version",), True), "unsupported bank version"),
        (mutate(("input",), "cmyk"), "input must be one of rgb, gray"),
        (mutate(("layers",), []), "at least one layer"),
        (mutate(("layers",), {}), "'layers' must be a list"),
        (mutate(("extra",), 1), "unknown key 'extra'"),
        (mutate((*L, "strid"), 2), "layer 1: unknown key 'strid'"),
        (mutate((*L, "type"), "dense"), "layer 1: 'type' must be conv or pool"),
        (mutate((*L, "border"), "mirror"), "layer 1: border must be one of"),
        (mutate((*L, "padding"), "full"), "layer 1: padding must be one of"),
        (mutate((*L, "padding"), -1), "layer 1: padding must be between 0"),
        (mutate((*L, "stride"), 0), "layer 1: stride must be between 1"),
        (mutate((*L, "stride"), [1, 2, 3]), "layer 1: stride must be an integer or"),
        (mutate((*L, "stride"), 1.5), "layer 1: stride must be an integer"),
        (mutate((*L, "dilation"), True), "layer 1: dilation must be an integer"),
        (mutate((*L, "activation"), "softmax"), "layer 1: activation must be one of"),
        (mutate((*L, "flip"), "yes"), "layer 1: flip must be true or false"),
        (mutate((*L, "filters"), []), "layer 1: 'filters' must be a non-empty list"),
        (mutate((*F, "kernels"), KeyError), "layer 1, filter 'sobel-x': missing 'kernels'"),
        (mutate((*F, "kernels"), []), "layer 1, filter 'sobel-x': kernels must not be empty"),
        (mutate((*F, "kernels"), [[[]]]), "filter 'sobel-x': kernels must not be empty"),
        (mutate((*F, "kernels"), [[[1, 2], [3]]]), "filter 'sobel-x': kernels are ragged"),
        (mutate((*F, "kernels"), [[[1, [2]]]]), "filter 'sobel-x': kernels are ragged"),
        (mutate((*F, "kernels"), [[1, 2]]), "filter 'sobel-x': kernels must have shape"),
        (mutate((*F, "kernels"), [[["1", 2]]]), "filter 'sobel-x': every weight must be a number"),
        (mutate((*F, "kernels"), [[[True]]]), "filter 'sobel-x': every weight must be a number"),
        (mutate((*F, "kernels"), [[[None]]]), "every weight must be a number"),
        (mutate((*F, "kernels"), [[[1] * 102]]), "at most 101x101"),
        (
            mutate((*F, "kernels"), [[[1e300]]]),
            "filter 'sobel-x': every weight must be between -1e\\+06 and 1e\\+06",
        ),
        (mutate((*F, "bias"), -2e6), "filter 'sobel-x': bias must be between"),
        (mutate((*F, "bias"), "0"), "filter 'sobel-x': bias must be a number"),
        (mutate((*F, "name"), 7), "layer 1, filter 1: filter name must be a string"),
        (
            mutate((*F, "kernels"), [SOBEL_X] * 2),
            "layer 1, filter 'sobel-x': kernels have 2 channels, layer input has 3",
        ),
        (mutate(("layers", 1, "op"), "min"), "layer 2: pool op must be one of max, avg"),
        (mutate(("layers", 1, "size"), 0), "layer 2: pool size must be between 1"),
        (mutate(("layers", 1, "filters"), []), "layer 2: unknown key 'filters'"),
        ("[" * 100000 + "]" * 100000, "nested too deeply|JSON object"),
    ],
)
def test_bad_files_raise_one_bank_error_naming_the_place(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(BankError, match=message) as info:
        load_bank(path)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("bank.json: ")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_weights_in_the_file_are_refused_where_they_stand(tmp_path, token):
    text = json.dumps(valid_dict()).replace("[-1, 0, 1]", f"[-1, {token}, 1]", 1)
    with pytest.raises(BankError, match="layer 1, filter 'sobel-x': every weight must be finite"):
        load_bank(write(tmp_path, text))
    text = json.dumps(valid_dict()).replace('"bias": 0.0', f'"bias": {token}', 1)
    with pytest.raises(BankError, match="layer 1, filter 'sobel-x': bias must be finite"):
        load_bank(write(tmp_path, text))


def test_channel_mismatch_in_a_later_layer_names_layer_and_filter(tmp_path):
    d = valid_dict()
    d["layers"].append(
        {"filters": [{"name": "a", "kernels": [[[1]]]}, {"name": "b", "kernels": [[[1]], [[1]]]}]}
    )
    with pytest.raises(BankError, match="layer 3, filter 'b': kernels have 2 channels"):
        load_bank(write(tmp_path, json.dumps(d)))
    d["layers"][2]["filters"] = [{"name": "b", "kernels": [[[1]], [[1]]]}]
    with pytest.raises(
        BankError, match="layer 3, filter 'b': kernels have 2 channels, layer input has 1"
    ):
        load_bank(write(tmp_path, json.dumps(d)))


def test_filters_of_different_sizes_need_same_padding(tmp_path):
    d = valid_dict()
    d["layers"][0]["filters"].append({"name": "box", "kernels": [[[1 / 25] * 5] * 5] * 3})
    load_bank(write(tmp_path, json.dumps(d)))  # 'same': every output has the same size
    d["layers"][0]["padding"] = "valid"
    with pytest.raises(BankError, match="filter 'box': kernels are 5x5.*padding 'same'"):
        load_bank(write(tmp_path, json.dumps(d)))


def test_unreadable_and_non_utf8_files(tmp_path):
    with pytest.raises(BankError, match="cannot read"):
        load_bank(tmp_path / "missing.json")
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "\xe9"}')
    with pytest.raises(BankError, match="not UTF-8"):
        load_bank(path)
    with pytest.raises(BankError, match="cannot read"):
        load_bank(tmp_path)  # a folder


@pytest.mark.parametrize("where", ["top", "layer"])
def test_a_duplicate_key_is_refused_and_named(tmp_path, where):
    # json keeps the last of two equal keys; a hand-edited file with two "layers" would load
    # silently as whichever came last.
    text = json.dumps(valid_dict())
    if where == "top":
        text = text.replace('"layers": [', '"layers": [], "layers": [', 1)
    else:
        text = text.replace('"stride": 1,', '"stride": 1, "stride": 2,', 1)
    key = "layers" if where == "top" else "stride"
    with pytest.raises(BankError, match=f'^bank.json: not a bank: the key "{key}" appears twice'):
        load_bank(write(tmp_path, text))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_instead_of_blocking(tmp_path):
    fifo = tmp_path / "bank.json"
    os.mkfifo(fifo)
    out = run_python(f"""
        from playground import BankError, load_bank
        try:
            load_bank({str(fifo)!r})
        except BankError as e:
            print(e)
    """)
    assert out == f"{fifo}: cannot read: not a regular file\n"


def test_loading_is_data_only(tmp_path):
    marker = tmp_path / "ran"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    d = valid_dict()
    d["name"] = payload
    d["layers"][0]["filters"][0]["name"] = payload
    bank = load_bank(write(tmp_path, json.dumps(d)))
    assert bank.name == payload
    assert not marker.exists()


# --- saving never loses the user's file -------------------------------------------------------


def test_failed_save_keeps_the_old_file_and_leaves_no_temp_files(tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    save_bank(Bank.from_dict(valid_dict()), path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    other = Bank.from_dict(valid_dict()).with_kernel(0, 0, 0, np.zeros((3, 3)))
    with pytest.raises(BankError, match="cannot save.*No space left"):
        save_bank(other, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mine.json"]


def test_read_only_location_is_a_bank_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    save_bank(Bank.from_dict(valid_dict()), path)
    before = path.read_bytes()

    def read_only(*args, **kwargs):
        # What the OS answers in a read-only folder (simulated: the tests may run as root).
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(BankError, match="cannot save.*Permission denied"):
        save_bank(Bank.from_dict(valid_dict()), path)
    assert path.read_bytes() == before


def test_save_into_a_missing_folder_is_a_bank_error(tmp_path):
    with pytest.raises(BankError, match="cannot save"):
        save_bank(Bank.from_dict(valid_dict()), tmp_path / "no" / "such" / "bank.json")


def test_save_through_a_symlink_updates_its_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real" / "bank.json"
    target.parent.mkdir()
    save_bank(Bank.from_dict(valid_dict()), target)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    renamed = valid_dict()
    renamed["name"] = "renamed"
    save_bank(Bank.from_dict(renamed), link)
    assert link.is_symlink()
    assert load_bank(target).name == "renamed"


def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "shared.json"
    save_bank(Bank.from_dict(valid_dict()), path)
    path.chmod(0o644)
    save_bank(Bank.from_dict(valid_dict()), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_public_api_is_reexported_without_qt():
    for name in ("Bank", "BankError", "load_bank", "save_bank", "presets", "Filter"):
        assert hasattr(playground, name)
    assert issubclass(BankError, ValueError)
