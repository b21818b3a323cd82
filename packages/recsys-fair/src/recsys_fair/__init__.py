"""recsys-fair: fairness-aware and multimodal graph recommenders on torch-geometric sparse operations.

Methods: FDA (fairness-aware data augmentation), MEGCF (multimodal entity graph
collaborative filtering), JMP-GCF (multi-grained popularity-aware graph collaborative
filtering), with MF and LightGCN baselines.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
