"""Who we are on the wire and on disc: one Implementation Class UID and one Version Name.

Both go into the File Meta Information of every file we write (PS3.10 7.1: (0002,0012) and
(0002,0013), DICOMDIR included) and into the User Information of every association we
negotiate (PS3.7 D.3.3.2, PS3.8 9.3.2.3 / 9.3.3.3). The UID is UUID-derived (PS3.5 B.2), so it
is ours without a registered root; the Version Name is an SH of at most 16 characters
(PS3.7 D.3.3.2.2 and Table D.3-2) and names the release that wrote the data.
"""

from __future__ import annotations

#: Our Implementation Class UID (PS3.7 D.3.3.2), a UUID-derived UID under ``2.25`` (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.200746377962453380395016094411316417311"
#: Our Implementation Version Name (PS3.7 D.3.3.2.2): 1 to 16 characters of the SH repertoire.
IMPLEMENTATION_VERSION_NAME = "DISCPUB_010"
