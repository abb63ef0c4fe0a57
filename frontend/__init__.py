"""The C frontend: a kernel's source text to a :class:`polyad.model.kernel.Kernel`.

It knows C syntax (through the system preprocessor and pycparser) and the
polyhedral model it builds; it knows nothing of differentiation.
"""

from polyad.frontend.parse import parse_kernel

__all__ = ["parse_kernel"]
