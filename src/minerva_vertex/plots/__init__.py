"""Plots of the pipeline, one module per kind of plot."""
