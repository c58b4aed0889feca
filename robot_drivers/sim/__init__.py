"""Simulators of every robot family, built from the vendors' manuals (cited in each module), never
from our drivers. Production modules never import this package (tests/test_layering.py).
"""
