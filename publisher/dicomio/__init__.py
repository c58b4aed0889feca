"""The DICOM encoding the other packages share: it imports nothing of ours, only pydicom and
the standard library, so every package may use it.

* :mod:`.identity` - our one Implementation Class UID and Version Name (PS3.7 D.3.3.2,
  PS3.10 7.1), in file meta information and in association negotiation alike;
* :mod:`.vr` - tables of the Value Representations (PS3.5 6.2, Table 6.2-1, Table 7.1-1);
* :mod:`.encode` - element encoding, explicit and implicit VR little endian (PS3.5 7.1);
* :mod:`.part10` - the PS3.10 file header: preamble, ``DICM`` and group 0002 (PS3.10 7.1).
"""
