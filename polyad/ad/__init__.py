"""Automatic differentiation on the model: derivative rules, activity, adjoint and tangent."""
