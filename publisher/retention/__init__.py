"""Retention: in ``buffer`` mode instances go once every rule and job that needs them has
finished, by age and under a disk low-water mark too, audited; a purged study burned again is
fetched back first (docs/admin.md, "Retention"; docs/architecture.md, section 3).

- :mod:`~publisher.retention.policy`: which instances may go, and why;
- :mod:`~publisher.retention.purge`: the periodic purge run inside the service;
- :mod:`~publisher.retention.restore`: purged instances of a disc job fetched back before mastering.
"""
