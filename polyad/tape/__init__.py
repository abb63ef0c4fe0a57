"""Tapes: which forward values the reverse sweep needs, and where they are kept."""
