"""The job share as both sides see it: our mount of it, and the robot PC's own paths.

The vendor software (PTBurn, TD Bridge, Network Publisher) runs on the robot's Windows PC
and opens the image and label files itself, by the paths written in the job file: "Specify
a directory path ... from the computer on which TD Bridge installed" (TD Bridge Technical
Reference Guide, PP-100N edition, p. 46); PTBurn's examples use ``\\\\Computer\\PTBurnJobs``
paths (PTBurn 3 SDK manual Rev 3.24, 2.1.19). So every path we write goes through a
:class:`PathMap`: our folder (``job_folder``, e.g. ``/mnt/ptburn``) -> the same folder as the
robot PC names it (``robot_job_folder``, e.g. ``\\\\BRAVO-PC\\PTBurnJobs``), plus optional
further mappings (a data directory the robot PC also mounts). A file under no mapping is
copied (hard-linked when possible) into a per-job subfolder of the job share, or refused
with :class:`~robot_drivers.errors.PathNotVisible` when staging is off.
"""
from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from robot_drivers import errors

_WINDOWS_ROOT = re.compile(r"^(\\\\|//|[A-Za-z]:)")


def robot_pure_path(root: str) -> PurePath:
    """``root`` as the robot PC's path type: Windows (UNC or drive letter) or POSIX."""
    return PureWindowsPath(root) if _WINDOWS_ROOT.match(root) else PurePosixPath(root)


class PathMap:
    """Local folders -> the same folders as the robot PC names them (first match wins)."""

    def __init__(self, job_folder: Path, robot_job_folder: str,
                 extra: Iterable[Sequence[str | Path]] = ()) -> None:
        if not robot_job_folder:
            raise ValueError("robot_job_folder is required: the job folder as the robot's PC names it "
                             "(e.g. \\\\ROBOT-PC\\PTBurnJobs or C:\\PTBurnJobs); see docs/robots.md, path map")
        self.robot_root = robot_job_folder  #: as configured, for messages
        self.pairs: list[tuple[Path, PurePath]] = [(Path(job_folder).resolve(), robot_pure_path(robot_job_folder))]
        for pair in extra:
            local, robot = pair
            self.pairs.append((Path(local).resolve(), robot_pure_path(str(robot))))

    def robot_path(self, local: Path) -> str | None:
        """``local`` as the robot PC sees it, or None when no mapping covers it."""
        path = Path(local).resolve()
        for mine, theirs in self.pairs:
            if path == mine or mine in path.parents:
                return str(theirs.joinpath(*path.relative_to(mine).parts))
        return None


class Share:
    """The job share: path mapping, per-job staging folders and the start-up probe."""

    def __init__(self, job_folder: Path, path_map: PathMap, *, stage: bool = True) -> None:
        self.folder = Path(job_folder)
        self.map = path_map
        self.stage = stage

    def staging(self, attempt: str) -> Path:
        """The per-job subfolder ``<job_folder>/<attempt>`` (a first-level subfolder, which
        PTBurn's ``DeleteFiles=YES`` removes after the job: SDK manual 2.1.7)."""
        folder = self.folder / attempt
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def visible(self, local: Path, attempt: str, what: str) -> tuple[str, bool]:
        """The robot-side path of ``local`` and whether it was staged into the job share."""
        path = self.map.robot_path(local)
        if path is not None:
            return path, False
        if not self.stage:
            raise errors.PathNotVisible(
                f"the {what} {local} is outside every folder the robot's PC can see "
                f"({', '.join(str(m) for m, _ in self.map.pairs)}); add a path_map entry or allow staging")
        target = self.staging(attempt) / local.name
        try:
            os.link(local, target)
        except OSError:
            shutil.copyfile(local, target)
        mapped = self.map.robot_path(target)
        assert mapped is not None  # the staging folder is inside the job folder
        return mapped, True

    def remove(self, attempt: str) -> None:
        shutil.rmtree(self.folder / attempt, ignore_errors=True)

    def probe(self, who: str) -> None:
        """Write, read back and delete a probe file in the job share; raise
        :class:`~robot_drivers.errors.RobotOffline` saying what is wrong."""
        robot = self.map.robot_root
        if not self.folder.is_dir():
            raise errors.RobotOffline(f"{who}: the job folder {self.folder} (the robot PC's {robot}) does "
                                      f"not exist: is the share mounted?")
        probe = self.folder / f"publisher-probe-{uuid.uuid4().hex[:12]}.tmp"
        token = uuid.uuid4().hex
        try:
            probe.write_text(token, encoding="ascii")
            back = probe.read_text(encoding="ascii")
        except OSError as exc:
            raise errors.RobotOffline(f"{who}: cannot write to the job folder {self.folder} (the robot PC's "
                                      f"{robot}): {exc}") from exc
        finally:
            probe.unlink(missing_ok=True)
        if back != token:
            raise errors.RobotOffline(f"{who}: the job folder {self.folder} did not give back what was written")
