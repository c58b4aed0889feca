"""The router: received instances forwarded to other AEs by rules, changed on the way as each
destination needs, through a durable queue (docs/architecture.md, section 3).

- :mod:`~publisher.routing.conditions`: what a ``[[routes]]`` condition means;
- :mod:`~publisher.routing.transform`: a destination's changes, with Original Attributes Sequence;
- :mod:`~publisher.routing.queue`: the forward queue (one row per instance and destination);
- :mod:`~publisher.routing.router`: follows the index and queues what the routes say;
- :mod:`~publisher.routing.forwarder`: sends what is due, with retries and backoff.
"""
