"""Where everything goes: the sector map of an ISO 9660 (+ Joliet) image or UDF bridge image.

    0-15      system area (zero)
    16-18     ISO 9660 PVD, Joliet SVD, terminator (ECMA-119 6.7.1)
    19-21     UDF: BEA01, NSR02/NSR03, TEA01 (ECMA-167 2/8.3)
    32-47     UDF: main Volume Descriptor Sequence; 48-63 reserve; 64-65 integrity (LVID, TD)
    256       UDF: Anchor Volume Descriptor Pointer (ECMA-167 3/8.4.2.1)
    then      path tables (ISO L, M; Joliet L, M), ISO directories, Joliet directories
    P         UDF partition (P aligned to 32 sectors), in partition blocks:
              UDF 2.5x: 0 File Set Descriptor, 1 TD, FEs and directories (the Metadata File,
              rounded up to 32 blocks), the Metadata File's FE, file data with the Metadata
              Mirror (aligned to 32) and its FE before the last file; UDF 1.02: FSD, TD, FEs
              and directories, file data
    N-1       UDF: second Anchor Volume Descriptor Pointer (the last sector)

Without UDF (CD, PS3.12 Annex F) the file data follows the directories. File data is laid out in
the order of the files given (DICOMDIR, the other small root files, then the DICOM files in
DICOMDIR order; MEDIA.md: readers read sequentially).
"""

from __future__ import annotations

from dataclasses import dataclass

from publisher.media.image import ecma119
from publisher.media.image.ecma167 import Revision, blocks
from publisher.media.image.tree import Tree
from publisher.media.image.udf import ALLOCATION_UNIT, ANCHOR_AT, UdfLayout, assign

FIRST_FREE_ISO = 19  #: after PVD, SVD and terminator
FIRST_FREE_UDF = ANCHOR_AT + 1


def _align(n: int, unit: int) -> int:
    return -(-n // unit) * unit


@dataclass
class Allocation:
    sectors: int  #: image size in sectors
    path_size: int
    l_path: int
    m_path: int
    joliet_path_size: int
    joliet_l_path: int
    joliet_m_path: int
    udf: UdfLayout | None = None
    data_start: int = 0  #: first sector of file data
    data_end: int = 0  #: sector after the last file's data


def _mirror(lay: UdfLayout, q: int) -> int:
    lay.mirror_start = _align(q, ALLOCATION_UNIT)
    lay.mirror_fe = lay.mirror_start + lay.metadata_blocks
    return lay.mirror_fe + 1


def allocate(tree: Tree, revision: Revision | None) -> Allocation:
    """Assign every location in ``tree`` (nodes are updated) and return the volume's map."""
    pt = ecma119.path_table_size(tree.iso_folders, "iso")
    jpt = ecma119.path_table_size(tree.joliet_folders, "joliet")
    at = FIRST_FREE_ISO if revision is None else FIRST_FREE_UDF
    places = []
    for size in (pt, pt, jpt, jpt):
        places.append(at)
        at += blocks(size)
    for f in tree.iso_folders:
        f.iso_size = ecma119.directory_size(f, "iso")
        f.iso_lba, at = at, at + f.iso_size // ecma119.SECTOR
    for f in tree.joliet_folders:
        f.joliet_size = ecma119.directory_size(f, "joliet")
        f.joliet_lba, at = at, at + f.joliet_size // ecma119.SECTOR
    alloc = Allocation(0, pt, places[0], places[1], jpt, places[2], places[3])
    if revision is None:
        alloc.data_start = at
        for node in tree.files:
            node.lba, at = at, at + blocks(node.size)
        alloc.sectors = alloc.data_end = at
        return alloc

    lay = UdfLayout(revision, start=_align(at, ALLOCATION_UNIT))
    used = assign(tree, lay, 2)  # blocks 0, 1: File Set Descriptor and its Terminating Descriptor
    if revision.metadata_partition:
        lay.metadata_blocks = _align(used, ALLOCATION_UNIT)
        lay.metadata_fe = lay.metadata_blocks
        q = lay.metadata_fe + 1
    else:
        q = used
    alloc.data_start = lay.start + q
    # The mirror goes far from the Metadata File (UDF 2.60 2.2.13.1, DCN-5106), just before the
    # last file's data: a reader that takes the last file extent for the end of the volume and
    # expects only zeros up to the closing anchor (7-Zip) then finds none of it in between.
    last = max((i for i, n in enumerate(tree.files) if n.size), default=-1)
    for i, node in enumerate(tree.files):
        if i == last and revision.metadata_partition:
            q = _mirror(lay, q)
        node.lba, q = lay.start + q, q + blocks(node.size)
    if last < 0 and revision.metadata_partition:
        q = _mirror(lay, q)
    alloc.data_end = lay.start + q
    lay.length = q
    alloc.udf = lay
    alloc.sectors = lay.start + q + 1  # + the last Anchor Volume Descriptor Pointer
    return alloc
