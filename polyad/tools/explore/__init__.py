"""``polyad explore``: Bayesian search of schedules and tape layouts.

:mod:`~polyad.tools.explore.space` derives the parameters from a gradient's
schedule and applies a configuration with the schedule's primitives;
:mod:`~polyad.tools.explore.trial` builds, checks and times one;
:mod:`~polyad.tools.explore.study` runs the optuna study and keeps it;
:mod:`~polyad.tools.explore.report` prints and plots what it found.
"""
