"""Media mastering: file-set naming, DICOMDIR, IHE PDI content, media profiles, ISO/UDF images,
spanning and read-back verification. Entry point: :func:`master`."""

from publisher.media.master import ViewerWriter, exclude_rejected, master
from publisher.media.model import DiscContent, DiscFile, MediaError, MediaInstance, MediaType, Volume
from publisher.media.verify import VerifyResult, read_manifest, verify

__all__ = [
    "DiscContent",
    "DiscFile",
    "MediaError",
    "MediaInstance",
    "MediaType",
    "ViewerWriter",
    "Volume",
    "VerifyResult",
    "exclude_rejected",
    "master",
    "read_manifest",
    "verify",
]
