"""The progress callback every long step of the service reports through.

``progress(done, total, message)``: ``done`` of ``total`` units (files, bytes, instances: the
caller says which in ``message``). robot_drivers and viewer_bundle, which know nothing of
publisher, keep their own alias of the same shape.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]
