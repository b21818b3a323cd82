"""The names under which this package's models and methods are registered."""

from lab_common import Registry

MODELS = Registry("model")
"""Model classes and method wrappers by their benchmark name (``"LightGCN"``, ``"SufrinNet"``, ...)."""
