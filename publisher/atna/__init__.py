"""The audit trail exported as DICOM audit messages (PS3.15 A.5) over syslog (A.6 TLS, A.7 UDP):
IHE ATNA's Secure Node / Secure Application actor sending to an Audit Record Repository.

- :mod:`.xml`: the elements of an ``AuditMessage`` (A.5.1) and the codes of PS3.16 CID 400-405;
- :mod:`.events`: each recorded audit event as the A.5.3 message of its kind;
- :mod:`.syslog`: RFC 5424 messages, framed for TLS (RFC 5425), TCP or UDP (RFC 5426);
- :mod:`.export`: the durable queue (``audit_event.sent_at``) and the thread that empties it in order.
"""
