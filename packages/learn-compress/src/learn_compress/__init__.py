"""learn-compress: learning under compression and from multimodal signals.

Methods: AdaSG (data-free quantization as a zero-sum game), SwitOKD (switchable online
distillation), LipFormer (visual-landmark lipreading), TOAT (topic-attentive depression
detection).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
