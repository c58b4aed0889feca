"""What a burn request will make, before anything is queued: one disc set per patient unless a
person chose (and confirmed, naming them) several patients on one disc; the medium chosen by
size when the form says "auto"; the number of discs; and the warnings a person confirms first
(many copies, a medium far larger than the data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from publisher.archive.lookup import PatientPick
from publisher.jobs.records import LabelPatient, VolumeSummary
from publisher.media import MediaType
from publisher.media.plan import usable_capacity
from publisher.web.render import person_name, size
from publisher.web.studies import MAX_COMMENT, MAX_COPIES, MEDIA, MEDIA_CHOICES, BurnForm

#: More copies than this of one disc asks for a confirmation.
MANY_COPIES = 10
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
#: The robot media from the smallest up.
_BY_SIZE = sorted((MediaType(m) for m in MEDIA), key=lambda m: m.capacity)


@dataclass(frozen=True)
class DiscSet:
    """The discs of one job: whose data, how much, on which medium, how many volumes."""

    picks: tuple[PatientPick, ...]
    media: MediaType
    volumes: int
    fits_on: MediaType

    @property
    def size(self) -> int:
        return sum(p.size for p in self.picks)

    @property
    def studies(self) -> list[str]:
        return [u for p in self.picks for u in p.studies]

    @property
    def series(self) -> list[str]:
        return [u for p in self.picks for u in p.series]

    def summary(self, number: int = 1) -> VolumeSummary:
        """What the first disc's label says (the label as it will print)."""
        return VolumeSummary(
            number=number, count=self.volumes,
            patients=tuple(LabelPatient(p.patient_id, p.name, p.birth_date) for p in self.picks),
            study_dates=tuple(sorted({d for p in self.picks for d in p.study_dates})),
            modalities=tuple(sorted({m for p in self.picks for m in p.modalities})),
            descriptions=tuple(sorted({d for p in self.picks for d in p.descriptions})))


@dataclass(frozen=True)
class BurnPlan:
    sets: tuple[DiscSet, ...]
    copies: int
    together: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def patients(self) -> list[PatientPick]:
        return [p for s in self.sets for p in s.picks]

    @property
    def discs(self) -> int:
        return sum(s.volumes for s in self.sets) * self.copies


def form_error(form: BurnForm) -> str:
    """Why the burn form cannot be used as filled in ("" when it can)."""
    if not form.studies and not form.series:
        return "Select at least one study or series to burn."
    bad = [u for u in form.studies + form.series if len(u) > 64 or not _UID.fullmatch(u)]
    if bad:
        return f"Not a DICOM UID: {bad[0][:80]!r}."
    if form.media not in MEDIA_CHOICES:
        return f"Unknown media {form.media[:20]!r}: choose one of {', '.join(MEDIA_CHOICES.values())}."
    if not form.copies.isdigit() or not 1 <= int(form.copies) <= MAX_COPIES:
        return f"Copies must be a whole number from 1 to {MAX_COPIES}, not {form.copies[:20]!r}."
    if len(form.comment) > MAX_COMMENT:
        return f"The comment has {len(form.comment)} characters; the label takes at most {MAX_COMMENT}."
    return ""


def volumes_on(media: MediaType, n_bytes: int) -> int:
    """How many discs of ``media`` ``n_bytes`` of DICOM files need (at least one)."""
    usable = usable_capacity(media)
    return max(1, -(-n_bytes // usable))


def smallest_fit(n_bytes: int) -> MediaType:
    """The smallest robot medium that holds ``n_bytes`` on one disc (else the largest)."""
    return next((m for m in _BY_SIZE if n_bytes <= usable_capacity(m)), _BY_SIZE[-1])


def plan_burn(picks: list[PatientPick], form: BurnForm, *, together: bool) -> BurnPlan:
    """The disc sets of ``picks`` (one per patient, or one for all with ``together``) and the
    warnings to confirm. ``form`` must have passed :func:`form_error`."""
    groups = [tuple(picks)] if together else [(p,) for p in picks]
    sets = []
    for g in groups:
        n = sum(p.size for p in g)
        fits = smallest_fit(n)
        media = fits if form.media == "auto" else MediaType(form.media)
        sets.append(DiscSet(g, media, volumes_on(media, n), fits))
    copies = int(form.copies)
    warnings = []
    if copies > MANY_COPIES:
        total = sum(s.volumes for s in sets) * copies
        warnings.append(f"{copies} copies of each disc: {total} discs in all.")
    for s in sets:
        if _BY_SIZE.index(s.media) > _BY_SIZE.index(s.fits_on):
            warnings.append(f"{MEDIA[s.media.value]} for {size(s.size)} of "
                            f"{', '.join(person_name(p.name) or p.patient_id for p in s.picks)}: "
                            f"one {MEDIA[s.fits_on.value]} holds it.")
    return BurnPlan(tuple(sets), copies, together, tuple(warnings))
