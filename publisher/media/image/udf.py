"""The UDF side of the bridge image: volume structures, integrity, file set, File Entries, FIDs.

Revision 1.02 (DVD, PS3.12 P.2.1) records File Entries and short allocation descriptors in one
Type 1 partition. Revisions 2.50/2.60 (BD, PS3.12 X.2.1) add a Metadata Partition (UDF 2.60
2.2.10, 2.2.13): every (Extended) File Entry and directory lives in the Metadata File, which
starts at block 0 of the physical partition, duplicated in the Metadata Mirror File near the end
of the partition; file data stays in the physical partition (long_ad, partition 0). No Virtual or
Sparable partition (PS3.12 X.2.1.2, X.2.1.3), no space bitmaps (read-only partition, UDF 2.60
2.2.14.2; no Metadata Bitmap File, DCN-5102).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from publisher.media.image import ecma167 as E
from publisher.media.image.layouts import (
    AVDP, EXTENDED_FILE_ENTRY, FILE_ENTRY, FILE_IDENTIFIER, FSD, ICB_TAG, IUVD, LOGICAL_VOLUME_HEADER,
    LVD, LVID, LVID_IMPLEMENTATION_USE, PARTITION_MAP_1, PARTITION_MAP_METADATA, PD, PVD, TD, USD,
    VOLUME_STRUCTURE,
)
from publisher.media.image.names import dstring
from publisher.media.image.tree import Node, Tree
from publisher.media.model import MediaError

BLOCK = E.BLOCK
MAIN_VDS, RESERVE_VDS, INTEGRITY_AT, ANCHOR_AT = 32, 48, 64, 256  #: sectors (ECMA-167 3/8.4.2.1)
VDS_BLOCKS = 16  #: a Volume Descriptor Sequence extent of 16 blocks (UDF 2.60 2.2.3.1: >= 16)
ALLOCATION_UNIT = 32  #: Metadata File allocation/alignment unit in blocks (BD cluster = 64 KiB)
FILE_PERMISSIONS = 0x1084  #: read for owner, group, other (ECMA-167 4/14.9.5)
FOLDER_PERMISSIONS = 0x14A5  #: read and execute for owner, group, other
_DIRECTORY_BIT, _PARENT_BIT = 0x02, 0x08  #: FID File Characteristics (ECMA-167 4/14.4.3)


@dataclass
class UdfLayout:
    """Where the UDF structures are (partition-relative block numbers unless named sectors)."""

    revision: E.Revision
    start: int = 0  #: sector where the (physical) partition starts
    length: int = 0  #: partition length in blocks
    metadata_blocks: int = 0  #: size of the Metadata File (at block 0) and of its mirror
    metadata_fe: int = 0
    mirror_start: int = 0
    mirror_fe: int = 0
    files: int = 0
    folders: int = 0
    next_unique_id: int = 16

    @property
    def metadata_partition(self) -> int:
        """Partition reference number of the partition holding FEs and directories."""
        return 1 if self.revision.metadata_partition else 0


def fid_sizes(name_lengths: list[int]) -> list[tuple[int, int]]:
    """``(implementation use length, FID length)`` for each FID of one directory, in order.

    FIDs are padded to 4 bytes (ECMA-167 4/14.4.9). Where the next FID's 16-byte tag would
    straddle a block boundary, this one carries a 32-byte implementation use (its EntityID), as
    UDF 2.60 2.3.4.4 asks for write-once media."""
    out, pos = [], 0
    for n in name_lengths:
        size, iu = -(-(38 + n) // 4) * 4, 0
        if 0 < BLOCK - (pos + size) % BLOCK < 16:
            size, iu = size + 32, 32
        out.append((iu, size))
        pos += size
    return out


def _fid_names(folder: Node) -> list[int]:
    return [0] + [len(c.udf) for c in folder.children]


def assign(tree: Tree, layout: UdfLayout, first: int) -> int:
    """Number the FEs and directories from block ``first`` (after FSD + TD) and the Unique IDs
    (root 0, others from 16: UDF 2.60 3.2.1.1); returns the next free block."""
    at, uid = first, 16
    for folder in tree.folders:
        if folder.parent is not None:
            folder.unique_id, uid = uid, uid + 1
        folder.fe, at = at, at + 1
        folder.fids_size = sum(size for _iu, size in fid_sizes(_fid_names(folder)))
        folder.fids, at = at, at + E.blocks(folder.fids_size)
        for c in folder.children:
            if not c.is_dir:
                c.unique_id, uid = uid, uid + 1
                c.fe, at = at, at + 1
                layout.files += 1
        layout.folders += 1
    layout.next_unique_id = uid
    return at


class UdfWriter:
    """Bytes of every UDF structure for one volume (``layout`` already assigned)."""

    def __init__(self, layout: UdfLayout, volume_id: str, when: datetime) -> None:
        self.layout, self.rev, self.volume_id = layout, layout.revision, volume_id
        self.ts = E.timestamp(when)
        self.version = self.rev.tag_version
        self.impl = E.implementation_id()
        self._icb: dict[tuple[int, int], bytes] = {}
        # UDF 2.60 2.2.2.5: the Volume Set Identifier starts with 16 unique hex digits
        self.volume_set = f"{uuid.uuid4().hex[:16].upper()}{volume_id}"

    # -- volume structure --------------------------------------------------------------------
    def recognition(self) -> bytes:
        """Volume Recognition Sequence after the ISO 9660 descriptors (ECMA-167 2/8.3, 2/9)."""
        return b"".join(VOLUME_STRUCTURE.pack(type=0, ident=i) for i in (b"BEA01", self.rev.nsr, b"TEA01"))

    def _block(self, data: bytes) -> bytes:
        return data + bytes(-len(data) % BLOCK)

    def volume_descriptors(self, at: int) -> bytes:
        """PVD, IUVD, PD, LVD, USD, TD (ECMA-167 3/8.4.2; UDF 2.60 2.2.2-2.2.5), one per block."""
        lay, v, vid = self.layout, self.version, self.volume_id
        pvd = E.descriptor(
            PVD, E.PRIMARY_VOLUME, at, v, vds_number=0, volume_id=dstring(vid, 32),
            volume_set_id=dstring(self.volume_set, 128), descriptor_charset=E.CS0, explanatory_charset=E.CS0,
            application_id=E.regid(E.IMPLEMENTATION), recorded=self.ts, implementation_id=self.impl)
        iuvd = E.descriptor(
            IUVD, E.IMPLEMENTATION_USE, at + 1, v, vds_number=1,
            implementation_id=E.udf_id(b"*UDF LV Info", self.rev), lvi_charset=E.CS0,
            logical_volume_id=dstring(vid, 128), lvi_implementation_id=self.impl)
        pd = E.descriptor(
            PD, E.PARTITION, at + 2, v, vds_number=2, contents=E.regid(b"+" + self.rev.nsr),
            access_type=1, start=lay.start, length=lay.length, implementation_id=self.impl)
        maps = PARTITION_MAP_1.pack(partition=0)
        if self.rev.metadata_partition:
            maps += PARTITION_MAP_METADATA.pack(
                partition_type_id=E.udf_id(b"*UDF Metadata Partition", self.rev), partition=0,
                metadata_file=lay.metadata_fe, mirror_file=lay.mirror_fe, allocation_unit=ALLOCATION_UNIT,
                alignment_unit=ALLOCATION_UNIT, flags=1)  # flags bit 0: the mirror duplicates the metadata
        lvd = E.descriptor(
            LVD, E.LOGICAL_VOLUME, at + 3, v, tail=maps, vds_number=3, descriptor_charset=E.CS0,
            logical_volume_id=dstring(vid, 128), domain_id=E.domain_id(self.rev),
            contents_use=E.long_ad(2 * BLOCK, 0, lay.metadata_partition), map_table_length=len(maps),
            map_count=2 if self.rev.metadata_partition else 1, implementation_id=self.impl,
            integrity_extent=E.extent_ad(2 * BLOCK, INTEGRITY_AT))
        usd = E.descriptor(USD, E.UNALLOCATED_SPACE, at + 4, v, vds_number=4)
        td = E.descriptor(TD, E.TERMINATING, at + 5, v)
        return b"".join(self._block(d) for d in (pvd, iuvd, pd, lvd, usd, td))

    def integrity(self) -> bytes:
        """Logical Volume Integrity Descriptor, closed (ECMA-167 3/10.10, UDF 2.60 2.2.6), + TD."""
        lay, rev = self.layout, self.rev
        sizes = [lay.length] + ([lay.metadata_blocks] if rev.metadata_partition else [])
        tables = b"".join(n.to_bytes(4, "little") for n in [0] * len(sizes) + sizes)
        iu = LVID_IMPLEMENTATION_USE.pack(
            implementation_id=self.impl, files=lay.files, directories=lay.folders, min_read=rev.min_read,
            min_write=rev.number, max_write=rev.number)
        lvid = E.descriptor(
            LVID, E.INTEGRITY, INTEGRITY_AT, self.version, tail=tables + iu, recorded=self.ts,
            contents_use=LOGICAL_VOLUME_HEADER.pack(unique_id=lay.next_unique_id), partitions=len(sizes),
            iu_length=len(iu))
        return self._block(lvid) + self._block(E.descriptor(TD, E.TERMINATING, INTEGRITY_AT + 1, self.version))

    def anchor(self, at: int) -> bytes:
        """Anchor Volume Descriptor Pointer (ECMA-167 3/10.2), recorded at 256 and the last sector."""
        return self._block(E.descriptor(
            AVDP, E.ANCHOR, at, self.version, main=E.extent_ad(VDS_BLOCKS * BLOCK, MAIN_VDS),
            reserve=E.extent_ad(VDS_BLOCKS * BLOCK, RESERVE_VDS)))

    # -- file structure ----------------------------------------------------------------------
    def file_entry(self, at: int, *, file_type: int, size: int, ads: bytes, ad_type: int, allocated: int,
                   unique_id: int, links: int = 1, permissions: int = FILE_PERMISSIONS) -> bytes:
        """A File Entry (UDF < 2.00) or Extended File Entry (ECMA-167 4/14.9, 4/14.17)."""
        icb = self._icb.get((file_type, ad_type))
        if icb is None:
            icb = self._icb[(file_type, ad_type)] = ICB_TAG.pack(file_type=file_type, flags=ad_type)
        ts = self.ts
        if self.rev.extended_entries:
            fe = E.descriptor(
                EXTENDED_FILE_ENTRY, E.EXTENDED_FILE_ENTRY, at, self.version, tail=ads, icb_tag=icb,
                permissions=permissions, link_count=links, info_length=size, object_size=size,
                blocks_recorded=allocated, accessed=ts, modified=ts, created=ts, attributes=ts,
                implementation_id=self.impl, unique_id=unique_id, ad_length=len(ads))
        else:
            fe = E.descriptor(
                FILE_ENTRY, E.FILE_ENTRY, at, self.version, tail=ads, icb_tag=icb, permissions=permissions,
                link_count=links, info_length=size, blocks_recorded=allocated, accessed=ts, modified=ts,
                attributes=ts, implementation_id=self.impl, unique_id=unique_id, ad_length=len(ads))
        if len(fe) > BLOCK:
            raise MediaError(f"a file of {size} bytes needs more allocation descriptors than one block holds")
        return fe  # the image writer pads every piece to whole blocks

    def _data_ads(self, node: Node) -> tuple[bytes, int]:
        first = node.lba - self.layout.start
        if self.rev.metadata_partition:  # FE in the Metadata Partition, data in partition 0
            return b"".join(E.long_ad(n, first + off, 0) for off, n in E.extents(node.size)), E.LONG
        return b"".join(E.short_ad(n, first + off) for off, n in E.extents(node.size)), E.SHORT

    def _fids(self, folder: Node) -> bytes:
        part = self.layout.metadata_partition
        entries = [(folder.parent or folder, b"", _DIRECTORY_BIT | _PARENT_BIT)]
        entries += [(c, c.udf, _DIRECTORY_BIT if c.is_dir else 0) for c in folder.children]
        out = bytearray()
        for (node, name, flags), (iu_len, size) in zip(entries, fid_sizes([len(e[1]) for e in entries])):
            iu = self.impl if iu_len else b""
            tail = iu + name + bytes(size - 38 - iu_len - len(name))
            out += E.descriptor(
                FILE_IDENTIFIER, E.FILE_IDENTIFIER, folder.fids + len(out) // BLOCK, self.version, tail=tail,
                characteristics=flags, name_length=len(name),
                icb=E.long_ad(BLOCK, node.fe, part, node.unique_id), iu_length=iu_len)
        return bytes(out)

    def metadata(self, tree: Tree) -> Iterator[tuple[int, bytes]]:
        """``(block, bytes)`` of the File Set Descriptor, its TD, and every FE and directory, in
        block order, in the partition that holds metadata (ECMA-167 4/8.3, 4/14); each piece is
        to be padded with zeros to whole blocks."""
        root = tree.root
        part = self.layout.metadata_partition
        vid = self.volume_id
        yield 0, self._block(E.descriptor(
            FSD, E.FILE_SET, 0, self.version, recorded=self.ts, lvi_charset=E.CS0,
            logical_volume_id=dstring(vid, 128), fs_charset=E.CS0, file_set_id=dstring(vid, 32),
            root_icb=E.long_ad(BLOCK, root.fe, part), domain_id=E.domain_id(self.rev)))
        yield 1, self._block(E.descriptor(TD, E.TERMINATING, 1, self.version))
        for folder in tree.folders:
            subfolders = sum(1 for c in folder.children if c.is_dir)
            yield folder.fe, self.file_entry(
                folder.fe, file_type=E.DIRECTORY, size=folder.fids_size, ads=E.short_ad(folder.fids_size, folder.fids),
                ad_type=E.SHORT, allocated=E.blocks(folder.fids_size), unique_id=folder.unique_id,
                links=1 + subfolders, permissions=FOLDER_PERMISSIONS)
            yield folder.fids, self._fids(folder)
            for c in folder.children:
                if not c.is_dir:
                    ads, kind = self._data_ads(c) if c.size else (b"", E.SHORT)
                    yield c.fe, self.file_entry(c.fe, file_type=E.REGULAR_FILE, size=c.size, ads=ads, ad_type=kind,
                                                allocated=E.blocks(c.size), unique_id=c.unique_id)

    def metadata_file_entry(self, mirror: bool) -> bytes:
        """FE of the Metadata File or its mirror (UDF 2.60 2.2.13.1), in the physical partition."""
        lay = self.layout
        at, first = (lay.mirror_fe, lay.mirror_start) if mirror else (lay.metadata_fe, 0)
        size = lay.metadata_blocks * BLOCK
        return self.file_entry(at, file_type=E.METADATA_MIRROR if mirror else E.METADATA_FILE, size=size,
                               ads=E.short_ad(size, first), ad_type=E.SHORT, allocated=lay.metadata_blocks,
                               unique_id=0)
