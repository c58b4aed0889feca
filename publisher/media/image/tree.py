"""The volume's directory tree, shared by the ISO 9660, Joliet and UDF name spaces.

One :class:`Node` per file and folder carries its name in every name space and, once the
image is laid out, where each file system records it; file data is recorded once and every
name space points at that one copy (the UDF Bridge of ECMA TR/71 and UDF 2.60 6.7).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from publisher.media.image.names import IsoNamer, check_dest, ucs2, udf_name
from publisher.media.model import DiscFile, MediaError


@dataclass(eq=False, slots=True)
class Node:
    name: str  #: component on the medium (Joliet, UDF, folder output)
    iso: bytes  #: ISO 9660 identifier, e.g. ``b"DICOMDIR.;1"`` or ``b"DICOM"``
    parent: Node | None
    file: DiscFile | None = None
    children: list[Node] = field(default_factory=list)
    joliet: bytes = b""  #: UCS-2 identifier
    udf: bytes = b""  #: OSTA CS0 identifier
    # where the file systems record it (filled in by the layout):
    lba: int = 0  #: files: first sector of the data (absolute)
    iso_lba: int = 0  #: folders: ISO 9660 directory extent, and its size in bytes
    iso_size: int = 0
    joliet_lba: int = 0
    joliet_size: int = 0
    fe: int = 0  #: UDF (Extended) File Entry block, in the partition that holds metadata
    fids: int = 0  #: folders: first block of the UDF directory (its FIDs), and their bytes
    fids_size: int = 0
    unique_id: int = 0  #: UDF Unique ID (UDF 2.60 3.2.1.1)

    @property
    def is_dir(self) -> bool:
        return self.file is None

    @property
    def size(self) -> int:
        return self.file.size if self.file is not None else 0

    def path(self) -> str:
        parts: list[str] = []
        node: Node | None = self
        while node is not None and node.parent is not None:
            parts.append(node.name)
            node = node.parent
        return "/".join(reversed(parts))


@dataclass
class Tree:
    root: Node
    files: list[Node]  #: in the order given: the order of their data on the medium
    iso_folders: list[Node]  #: path-table order of the ISO 9660 hierarchy (ECMA-119 9.4.3)
    joliet_folders: list[Node]  #: path-table order of the Joliet hierarchy

    @property
    def folders(self) -> list[Node]:
        return self.iso_folders


def iso_key(node: Node) -> tuple[bytes, bytes]:
    """ECMA-119 9.3: records ordered by File Name, then Extension (both padded with spaces,
    which sorts like Python's prefix-first order for d-characters); all versions are 1."""
    name, _, rest = node.iso.partition(b".")
    return name, rest.partition(b";")[0]


def _bfs(root: Node, key: Callable[[Node], tuple[bytes, bytes] | bytes]) -> list[Node]:
    """Folders by level, then parent, then identifier: the path table order (ECMA-119 9.4.3)."""
    out, queue = [], deque([root])
    while queue:
        folder = queue.popleft()
        out.append(folder)
        queue.extend(sorted((c for c in folder.children if c.is_dir), key=key))
    return out


def build(files: Sequence[DiscFile], folders: Iterable[str] = ()) -> Tree:
    """The tree of ``files`` (and of extra, possibly empty, ``folders``), names checked."""
    namer = IsoNamer()
    root = Node("", b"\x00", None)
    by_path: dict[str, Node] = {"": root}

    def folder(dest: str) -> Node:
        node = by_path.get(dest)
        if node is not None:
            if not node.is_dir:
                raise MediaError(f"{dest}: both a file and a folder on the medium")
            return node
        parent_dest, _, part = dest.rpartition("/")
        parent = folder(parent_dest)
        iso = namer.folder(dest).rpartition("/")[2]
        node = Node(part, iso.encode("ascii"), parent, joliet=ucs2(part), udf=udf_name(part, dest))
        parent.children.append(node)
        by_path[dest] = node
        return node

    nodes = []
    for f in files:
        check_dest(f.dest)
        if f.dest in by_path:
            raise MediaError(f"{f.dest}: recorded twice on the medium")
        if f.size < 0:
            raise MediaError(f"{f.dest}: negative size")
        parent_dest, _, part = f.dest.rpartition("/")
        parent = folder(parent_dest)
        iso = namer.file(f.dest).rpartition("/")[2]
        node = Node(part, iso.encode("ascii"), parent, file=f, joliet=ucs2(part), udf=udf_name(part, f.dest))
        parent.children.append(node)
        by_path[f.dest] = node
        nodes.append(node)
    for extra in folders:
        check_dest(extra)
        folder(extra)
    for node in by_path.values():
        if node.is_dir:
            node.children.sort(key=iso_key)
    iso_folders = _bfs(root, iso_key)
    joliet_folders = _bfs(root, lambda n: n.joliet)
    if len(iso_folders) > 0xFFFF:
        raise MediaError(f"{len(iso_folders)} folders: more than a path table can number (ECMA-119 9.4.6)")
    return Tree(root, nodes, iso_folders, joliet_folders)
