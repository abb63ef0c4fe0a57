"""The polyhedral model of a kernel: arrays, statements, expressions, dataflow."""
