"""ONNX's own node test cases for Conv, MaxPool and AveragePool (the generators under
onnx/backend/test/case/node/, with their inputs and expected outputs): each one is either
imported and gives ONNX's expected output, or refused in one line that says why. None is
imported some other way."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from playground import BankError, read_model

PREFIXES = ("test_conv_", "test_basic_conv", "test_maxpool", "test_averagepool")
# What the bank format expresses today; every other case must be refused. Of the Conv cases
# only test_conv_with_autopad_same is refused (SAME_LOWER at stride 2); none uses group or pads
# the two sides of an axis differently, so groups, asymmetric pads and SAME_LOWER at stride 1
# are checked against onnxruntime in test_onnx_conv_settings.py and test_model_import.py.
EXPRESSED = {
    "test_basic_conv_with_padding",
    "test_basic_conv_without_padding",
    "test_conv_with_strides_padding",
    "test_conv_with_strides_no_padding",
    "test_conv_with_strides_and_asymmetric_padding",  # pads differ between axes, not sides
    "test_maxpool_2d_default",
    "test_maxpool_2d_strides",
    "test_maxpool_2d_precomputed_strides",
    "test_maxpool_with_argmax_2d_precomputed_strides",
    "test_averagepool_2d_default",
    "test_averagepool_2d_strides",
    "test_averagepool_2d_precomputed_strides",
}


def _cases():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # other ops' generators overflow casts on purpose
        cases = collect_testcases(None)
    return {c.name: c for c in cases if c.name.startswith(PREFIXES) and "integer" not in c.name}


CASES = _cases()


def test_the_case_list_is_onnx_s_and_not_empty():
    assert len(CASES) >= 40 and set(CASES) >= EXPRESSED


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_onnx_node_case_is_imported_exactly_or_refused_in_one_line(tmp_path, name):
    case = CASES[name]
    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    inputs, outputs = case.data_sets[0]
    graph = model.graph
    # The weights are graph inputs in these cases; a bank holds them fixed.
    for value_info, value in list(zip(graph.input, inputs))[1:]:
        graph.initializer.append(numpy_helper.from_array(value, value_info.name))
    del graph.input[1:]
    path = tmp_path / "case.onnx"
    onnx.save(model, str(path))
    try:
        imported = read_model(path)
    except BankError as refused:
        assert name not in EXPRESSED, str(refused)
        assert "\n" not in str(refused) and "stopped at" in str(refused)
        return
    assert name in EXPRESSED and imported.stopped is None
    x = inputs[0][0].transpose(1, 2, 0)
    image = x[:, :, 0] if x.shape[2] == 1 else x
    got = imported.bank.apply(image.astype(np.float64))[-1]
    np.testing.assert_allclose(got, outputs[0][0], atol=1e-5, rtol=1e-4)
