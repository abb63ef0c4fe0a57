"""Schedules of programs: the value, its verbs, legality, the trace, the auto strategy."""
