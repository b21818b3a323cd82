import os
import pickle

import numpy as np
import pytest

from lab_common import NUMPY_ARRAY_GLOBALS, DataFormatError, restricted_load


def test_builtin_containers_numbers_and_strings_load(tmp_path):
    data = {"0": ["positive", "negative"], 1: (2.5, None, True), "s": {1, 2}, "b": b"raw"}
    path = tmp_path / "ok.pickle"
    path.write_bytes(pickle.dumps(data))
    assert restricted_load(path) == data


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > exploited",))


def test_code_executing_pickle_is_refused_and_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "item2sentiment.pickle"
    path.write_bytes(pickle.dumps({"item": _Exploit()}))
    with pytest.raises(DataFormatError) as info:
        restricted_load(path)
    message = str(info.value)
    assert "item2sentiment.pickle" in message and "system" in message and "refusing" in message
    assert not (tmp_path / "exploited").exists()


def test_numpy_arrays_need_explicit_permission(tmp_path):
    path = tmp_path / "batch"
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path.write_bytes(pickle.dumps({"data": array, "labels": [1, 2, 3]}))
    with pytest.raises(DataFormatError, match="numpy"):
        restricted_load(path)
    loaded = restricted_load(path, extra_globals=NUMPY_ARRAY_GLOBALS)
    assert np.array_equal(loaded["data"], array) and loaded["labels"] == [1, 2, 3]


def test_not_a_pickle_raises_data_format_error(tmp_path):
    path = tmp_path / "broken.pickle"
    path.write_bytes(b"this is text, not a pickle")
    with pytest.raises(DataFormatError, match="broken.pickle: expected a pickle file"):
        restricted_load(path)
