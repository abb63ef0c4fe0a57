"""What users run around the pipeline: benchmarks, memory analysis, reports."""
