"""Robots driven through their vendor software's job folder (hot folder): PTBurn, TD Bridge,
Network Publisher. Production code only: the simulators are in :mod:`robot_drivers.sim`."""
