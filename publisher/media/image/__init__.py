"""ISO 9660 + Joliet images and UDF bridge images, written without a mastering library.

PS3.12 asks for ISO 9660 Level 1 on CD-R (Annex F), UDF (1.02 to 2.01) and/or ISO 9660 on DVD
(Annex P), UDF 2.5 / 2.6 on BD-RE / BD-R (Annex X). :func:`write_image` writes one bridge image
for all: ISO 9660 Level 1 + Joliet always, and, when asked, the UDF structures of the chosen
revision sharing the same copy of every file's data. The descriptors are a table of layouts
(:mod:`.layouts`); :mod:`.allocation` documents the sector map.
"""

from publisher.media.image.names import iso_names
from publisher.media.image.writer import REVISIONS, image_size, write_image

__all__ = ["REVISIONS", "image_size", "iso_names", "write_image"]
