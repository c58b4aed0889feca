"""DICOM disc publisher: receive, index, master and burn imaging studies on optical media."""

__version__ = "0.1.0"

#: Our Implementation Class UID (PS3.7 D.3.3.2), a UUID-derived UID (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.200746377962453380395016094411316417311"
IMPLEMENTATION_VERSION_NAME = "DISCPUB_010"
