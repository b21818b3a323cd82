import pytest

from lab_common import Registry


def test_register_get_build_and_list():
    models = Registry("model")

    @models.register("MF")
    class MF:
        def __init__(self, dim=8):
            self.dim = dim

    models.register("double", lambda x: 2 * x)
    assert models.get("MF") is MF
    assert models.build("MF", dim=4).dim == 4
    assert models.build("double", 3) == 6
    assert models.names() == ["MF", "double"]
    assert "MF" in models and "LightGCN" not in models
    assert len(models) == 2


def test_default_name_is_the_object_name():
    models = Registry("model")

    @models.register()
    class LightGCN:
        pass

    assert models.get("LightGCN") is LightGCN


def test_unknown_name_lists_known_names_and_suggests():
    models = Registry("model")
    for name in ("LightGCN", "MF", "MEGCF"):
        models.register(name, object())
    with pytest.raises(KeyError) as info:
        models.get("LightGNC")
    message = str(info.value)
    assert "unknown model 'LightGNC'" in message
    assert "LightGCN, MEGCF, MF" in message
    assert "did you mean 'LightGCN'" in message


def test_case_insensitive_suggestion_and_empty_registry():
    models = Registry("model")
    with pytest.raises(KeyError, match="none is registered yet"):
        models.get("mf")
    models.register("MF", object())
    with pytest.raises(KeyError, match="did you mean 'MF'"):
        models.get("mf")


def test_registering_a_different_object_twice_is_refused():
    models = Registry("model")
    first = object()
    models.register("MF", first)
    models.register("MF", first)  # idempotent for the same object
    with pytest.raises(KeyError, match="already registered"):
        models.register("MF", object())
