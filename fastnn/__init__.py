"""fastnn: numba-accelerated, plugin-based neural networks for handwritten-text recognition."""
__version__ = "0.1.0"
