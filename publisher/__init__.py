"""DICOM disc publisher: receive, index, master and burn imaging studies on optical media."""

__version__ = "0.1.0"
