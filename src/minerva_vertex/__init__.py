"""MINERvA deep-learning vertex finding: toy detector, images, CNN and DANN, evaluation."""

__version__ = "0.1.0"
