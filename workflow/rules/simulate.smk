"""Toy MINERvA simulation: ROOT hit files of the configured samples, and event displays."""
