"""The descriptor table against the standards' byte positions.

Offsets as ECMA-119 8.4 / 9.1 (1-based "BP" minus one), ECMA-167 3/10, 4/14 and UDF 2.60 2.2.10
give them, the same positions an independent reader (7-Zip's UdfIn.cpp) reads."""

from __future__ import annotations

import pytest

from publisher.media.image import layouts as L

POSITIONS = [
    (L.VOLUME_DESCRIPTOR, {"volume_id": 40, "space_size": 80, "path_table_size": 132, "l_path": 140, "m_path": 148,
                           "root_record": 156, "volume_set_id": 190, "application_id": 574, "created": 813,
                           "structure_version": 881, "application_use": 883}),
    (L.DIRECTORY_RECORD, {"extent": 2, "size": 10, "recorded": 18, "flags": 25, "volume_sequence": 28, "name_length": 32}),
    (L.PVD, {"volume_id": 24, "volume_sequence": 56, "interchange": 60, "volume_set_id": 72, "application_id": 344,
             "recorded": 376, "implementation_id": 388, "predecessor": 484, "flags": 488}),
    (L.PD, {"flags": 20, "number": 22, "contents": 24, "access_type": 184, "start": 188, "length": 192,
            "implementation_id": 196}),
    (L.LVD, {"logical_volume_id": 84, "block_size": 212, "domain_id": 216, "contents_use": 248, "map_table_length": 264,
             "map_count": 268, "implementation_id": 272, "integrity_extent": 432}),
    (L.PARTITION_MAP_METADATA, {"partition_type_id": 4, "volume_sequence": 36, "partition": 38, "metadata_file": 40,
                                "mirror_file": 44, "bitmap_file": 48, "allocation_unit": 52, "alignment_unit": 56,
                                "flags": 58}),
    (L.FSD, {"recorded": 16, "file_set_number": 40, "fsd_number": 44, "logical_volume_id": 112, "file_set_id": 304,
             "copyright_file": 336, "abstract_file": 368, "root_icb": 400, "domain_id": 416, "next_extent": 448,
             "stream_directory_icb": 464}),
    (L.FILE_ENTRY, {"icb_tag": 16, "link_count": 48, "info_length": 56, "blocks_recorded": 64, "accessed": 72,
                    "ea_length": 168, "ad_length": 172}),
    (L.EXTENDED_FILE_ENTRY, {"link_count": 48, "info_length": 56, "object_size": 64, "blocks_recorded": 72,
                             "created": 104, "ea_length": 208, "ad_length": 212}),
    (L.FILE_IDENTIFIER, {"characteristics": 18, "name_length": 19, "icb": 20, "iu_length": 36}),
    (L.ICB_TAG, {"file_type": 11, "parent": 12, "flags": 18}),
    (L.LVID, {"recorded": 16, "integrity_type": 28, "next_extent": 32, "contents_use": 40, "partitions": 72,
              "iu_length": 76}),
    (L.AVDP, {"main": 16, "reserve": 24}),
]


@pytest.mark.parametrize(("layout", "where"), POSITIONS, ids=[p[0].name for p in POSITIONS])
def test_fields_sit_where_the_standards_put_them(layout: L.Layout, where: dict[str, int]) -> None:
    assert {name: layout.offset(name) for name in where} == where


def test_both_endian_and_big_endian_fields_are_recorded_in_both_orders() -> None:
    raw = L.DIRECTORY_RECORD.pack(extent=0x01020304, volume_sequence=0x0A0B)
    assert raw[2:10] == bytes.fromhex("0403020101020304") and raw[28:32] == bytes.fromhex("0B0A0A0B")
    assert L.PATH_RECORD_M.pack(extent=0x01020304, parent=0x0102)[2:8] == bytes.fromhex("010203040102")
    assert L.DIRECTORY_RECORD.unpack(raw)["extent"] == 0x01020304


def test_every_layout_is_in_the_table_and_unknown_fields_are_refused() -> None:
    assert all(isinstance(x, L.Layout) for x in L.LAYOUTS.values()) and len(L.LAYOUTS) == 30
    with pytest.raises(TypeError):
        L.TAG.pack(no_such_field=1)
