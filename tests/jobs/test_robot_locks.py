"""Issue 11, acceptance 8: two services with simulated robots on one machine burn side by side.

Service A burns a job whose simulated robot is held mid-burn (its picker arm stopped, as a jam
would): A's job is burning and A holds its robot's lock. Meanwhile a second service, another
``publisher`` process with its own data directory, burns a job to the end. Before, both
simulators locked ``<tmp>/robot-locks/simulator-simulator.lock``, so B was refused
(``RobotBusy``) or waited for A's burn. Shown by the order of states, never by wall-clock time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from publisher.demo import samples
from publisher.config import Settings
from publisher.db.models import DiscJob
from publisher.jobs.disc_job import create_job, run_job
from publisher.jobs.selection import Selection
from publisher.service import Service
from robot_drivers.sim.timing import TimingSimulator

from tests.support.net import wait_until
from tests.support.jobs import SHARED_ROOT, robot_site







def _state(service: Service, job_id: int) -> str:
    with service.db.session() as s:
        job = s.get(DiscJob, job_id)
        return job.state if job is not None else ""


def test_two_services_burn_on_their_simulators_side_by_side(tmp_path: Path) -> None:
    a_dir, b_dir = tmp_path / "site-a", tmp_path / "site-b"
    for d in (a_dir, b_dir):
        d.mkdir()
        robot_site(d)
    patient = samples.demo_studies(2)[0].patient.patient_id
    a = Service(Settings(data_dir=a_dir, load_samples=False, robot_options=(("time_scale", 0.0),)))
    a.prepare()
    ctx = a.job_context()
    robot = ctx.robot
    assert isinstance(robot, TimingSimulator)
    assert robot.lock.path is not None and robot.lock.path.is_relative_to(a_dir), robot.lock.path
    job_a = create_job(a.db, Selection(patients=[patient]), created_by="test")
    config = tmp_path / "b.toml"
    config.write_text("[robot]\nkind = \"simulator\"\ntime_scale = 0.0\n", encoding="utf-8")
    env = {**os.environ, "PUBLISHER_DATA_DIR": str(b_dir), "PUBLISHER_LOAD_SAMPLES": "false",
           "PUBLISHER_MIN_FREE_BYTES": "0"}
    env.pop("PUBLISHER_ROBOT_LOCK_DIR", None)
    with robot.arm_stopped():  # A's burn holds A's robot and lock until the arm moves again
        burner = threading.Thread(target=run_job, args=(ctx, job_a))
        burner.start()
        wait_until("A's job on its robot", lambda: _state(a, job_a) == "burning" and robot._session.users == 1)
        b = subprocess.run([sys.executable, "-m", "publisher.cli", "--config", str(config), "burn",
                            "--patient", patient, "--quiet"], env=env, cwd=SHARED_ROOT, capture_output=True,
                           text=True, timeout=300)
        assert b.returncode == 0 and "done" in b.stdout, b.stdout + b.stderr
        assert _state(a, job_a) == "burning" and robot.lock.held, "B finished while A was still burning"
    burner.join(120)
    assert _state(a, job_a) == "done"
    assert (b_dir / "robot-locks").is_dir(), "B's simulator locked inside B's data directory"
    a.stop()
