"""Reading DICOM File-sets from media brought in from elsewhere (PS3.10 8, PS3.3 Annex F, PS3.12).

Patients bring CDs, DVDs and USB sticks made by other hospitals' publishers, and many of them
bend the rules. This package only reads: it knows nothing of the archive or the database (the
import into the archive is :mod:`publisher.intake.disc_import`).

* :mod:`.medium` - a :class:`~.medium.Medium` is where the files are: a folder (a mounted disc,
  a copied tree) or an ISO 9660 image read with pycdlib (Joliet, Rock Ridge or plain ISO 9660
  names; nothing is mounted). Names are looked up without regard to case and with the ISO 9660
  version suffix (``;1``) and the empty extension separator (``DICOMDIR.;1``) ignored
  (ECMA-119 7.5).
* :mod:`.fileset` - :func:`~.fileset.read_fileset` finds the DICOMDIR and, through
  :mod:`.dicomdir`, follows its records by their offsets (PS3.3 F.3.2.2: the root's first
  record, each record's next sibling and lower-level entity) and lists every referenced file
  with the patient / study / series keys of the records above it. Without a DICOMDIR (or with
  an unreadable one) it scans every file for the PS3.10 preamble ``DICM``.
* :mod:`.entries` - what was found: :class:`~.entries.FileEntry` values in a
  :class:`~.entries.FileSet`, and :class:`~.entries.Problem` values (a record naming a missing
  file, a File ID leaving the File-set, an unreadable DICOMDIR, broken offsets); none stops the
  reading of the rest.
"""
