"""The shipped weights, installed as the package data `adain.weights` (see adain/resources.py)."""
