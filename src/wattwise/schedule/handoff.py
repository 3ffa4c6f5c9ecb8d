"""Hand the chosen start time to a real scheduler: a Slurm ``sbatch --begin`` line (or submission), or a
Kubernetes Job manifest. wattwise chooses the time; the cluster scheduler does the rest.

Slurm reads ``--begin`` / ``--deadline`` in the local time of the cluster, so times are written in the cluster's
time zone (``tz``; default this machine's) with the UTC instant in a comment.

Kubernetes has no "start at" field on a Job. Two ways used in practice, both produced here:

- ``suspend`` (default): the Job is created with ``spec.suspend: true`` (Kubernetes >= 1.24), so no pod and no
  GPU is held while waiting; at the start time something un-suspends it
  (``kubectl patch job NAME --type=merge -p '{"spec":{"suspend":false}}'``) - a cron/``at`` entry, a CI job, or a
  queue controller such as Kueue. ``activeDeadlineSeconds`` (timer reset on resume) stops it at the deadline.
- ``init-wait``: an init container sleeps until the start time, then the main container runs. Needs nothing else,
  but the pod is scheduled at once and holds its node's resources (including GPUs requested by the main
  container) while it sleeps.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from datetime import datetime, timezone, tzinfo

from wattwise.errors import WattwiseError
from wattwise.schedule.timeutil import fmt_hours, fmt_utc

K8S_MODES = ("suspend", "init-wait")
#: Default slack left between the job's planned end and a Slurm ``--deadline`` (queue delay, slow start):
#: a share of the job's duration, and at least a floor.
SLACK_SHARE = 0.10
MIN_SLACK_S = 15 * 60
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _zone(tz: str | tzinfo | None) -> tzinfo:
    if tz is None:
        return datetime.now().astimezone().tzinfo or timezone.utc
    if isinstance(tz, tzinfo):
        return tz
    if tz.upper() in ("UTC", "Z"):
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise WattwiseError(f"unknown time zone {tz!r}", "use an IANA name such as Europe/Paris or UTC") from None


def default_slack_s(duration_s: float) -> float:
    """The job's own slack: 10 % of its duration, at least 15 minutes."""
    return max(MIN_SLACK_S, SLACK_SHARE * duration_s)


def latest_finish(earliest: float, deadline: float, duration_s: float, slack_s: float) -> float:
    """The end to plan for so that ``start <= deadline - duration - slack``; an error when the window cannot
    hold the job and its slack (Slurm drops a job that cannot finish by ``--deadline``)."""
    if slack_s < 0:
        raise WattwiseError(f"slack must be >= 0, got {slack_s:g} s")
    end = deadline - slack_s
    if end - duration_s < earliest - 1e-6:
        raise WattwiseError(f"the window leaves no {fmt_hours(slack_s)} slack before the deadline for a "
                            f"{fmt_hours(duration_s)} job", "widen --within/--deadline, or lower --slack (e.g. 0)")
    return end


def slurm_time(t: datetime, tz: str | tzinfo | None = None) -> str:
    """``YYYY-MM-DDTHH:MM`` (to the minute) in the cluster's local time, as ``sbatch --begin`` expects."""
    return t.astimezone(_zone(tz)).strftime("%Y-%m-%dT%H:%M")


def sbatch_args(start: datetime, deadline: datetime | None = None, time_limit_s: float | None = None,
                tz: str | tzinfo | None = None) -> list[str]:
    args = [f"--begin={slurm_time(start, tz)}"]
    if deadline is not None:
        args.append(f"--deadline={slurm_time(deadline, tz)}")
    if time_limit_s:
        m = int(-(-time_limit_s // 60))
        args.append(f"--time={m // 60}:{m % 60:02d}:00")
    return args


def sbatch_command(script: list[str], start: datetime, deadline: datetime | None = None,
                   time_limit_s: float | None = None, tz: str | tzinfo | None = None) -> str:
    """The ``sbatch`` command line for ``script`` (and its arguments), with a comment giving the UTC time."""
    if not script:
        raise WattwiseError("no batch script given", "e.g. wattwise schedule slurm -l FR -d 6h --within 12h job.sh")
    z = _zone(tz)
    line = shlex.join(["sbatch", *sbatch_args(start, deadline, time_limit_s, z), *script])
    return f"{line}  # start {fmt_utc(start)} = {start.astimezone(z):%H:%M} {start.astimezone(z).tzname()}"


def submit_sbatch(script: list[str], start: datetime, deadline: datetime | None = None,
                  time_limit_s: float | None = None, tz: str | tzinfo | None = None) -> str:
    """Run ``sbatch``; returns its output (``Submitted batch job N``)."""
    exe = shutil.which("sbatch")
    if exe is None:
        raise WattwiseError("sbatch not found on PATH", "run this on a Slurm login node, or drop --submit to print the "
                                                        "command")
    proc = subprocess.run([exe, *sbatch_args(start, deadline, time_limit_s, tz), *script], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise WattwiseError(f"sbatch failed: {(proc.stderr or proc.stdout).strip()}")
    return proc.stdout.strip()


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _q(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid YAML scalar


def k8s_job(name: str, image: str, command: list[str], start: datetime, deadline: datetime | None = None,
            mode: str = "suspend", namespace: str | None = None, note: str = "",
            now: datetime | None = None) -> str:
    """A Kubernetes ``batch/v1`` Job manifest (YAML) that runs at ``start``. With ``init-wait`` the
    ``activeDeadlineSeconds`` counts from ``now`` (when the Job is created), as the sleep is part of the Job."""
    _check_k8s(name, image, mode)
    start_utc = start.astimezone(timezone.utc)
    lines = ["apiVersion: batch/v1", "kind: Job", "metadata:", f"  name: {name}"]
    if namespace:
        lines.append(f"  namespace: {namespace}")
    lines += ["  annotations:", f"    wattwise.dev/start-at: {_q(_iso(start))}"]
    if deadline is not None:
        lines.append(f"    wattwise.dev/deadline: {_q(_iso(deadline))}")
    if note:
        lines.append(f"    wattwise.dev/note: {_q(note)}")
    lines.append("spec:")
    if mode == "suspend":
        lines.append("  suspend: true  # un-suspend at the start time (see below)")
    if deadline is not None:
        budget = (deadline - start).total_seconds()
        if mode == "init-wait":
            budget = (deadline - (now or datetime.now(timezone.utc))).total_seconds()
        lines.append(f"  activeDeadlineSeconds: {max(int(budget), 1)}")
    lines += ["  backoffLimit: 0", "  template:", "    spec:", "      restartPolicy: Never"]
    if mode == "init-wait":
        epoch = int(start_utc.timestamp())
        wait = f'now=$(date +%s); if [ "$now" -lt {epoch} ]; then sleep $(({epoch} - now)); fi'
        lines += ["      initContainers:", "      - name: wait-for-clean-hour", "        image: busybox:1.36",
                  f"        command: [\"sh\", \"-c\", {_q(wait)}]",
                  "        resources: {requests: {cpu: 10m, memory: 16Mi}}"]
    lines += ["      containers:", f"      - name: {name[:63]}", f"        image: {_q(image)}"]
    if command:
        lines.append(f"        command: [{', '.join(_q(c) for c in command)}]")
    return "\n".join(lines) + "\n" + _k8s_notes(name, namespace, mode, start_utc, deadline)


def _check_k8s(name: str, image: str, mode: str) -> None:
    if mode not in K8S_MODES:
        raise WattwiseError(f"unknown Kubernetes mode {mode!r}", f"use one of: {', '.join(K8S_MODES)}")
    if not _NAME.match(name) or len(name) > 63:
        raise WattwiseError(f"invalid Job name {name!r}", "use lower-case letters, digits and '-' (at most 63)")
    if not image:
        raise WattwiseError("no container image given", "add --image, e.g. --image ghcr.io/me/train:1.0")


def _k8s_notes(name: str, namespace: str | None, mode: str, start_utc: datetime, deadline: datetime | None) -> str:
    """The comments after the manifest: how the Job starts at ``start_utc``, and its deadline."""
    text = ""
    if mode == "suspend":
        patch = "kubectl patch job " + name + (f" -n {namespace}" if namespace else "") + \
                " --type=merge -p '{\"spec\":{\"suspend\":false}}'"
        text += (f"# Un-suspend at {fmt_utc(start_utc)}, e.g. with at(1):\n"
                 f"#   echo {shlex.quote(patch)} | TZ=UTC at -t {start_utc:%Y%m%d%H%M}\n")
    else:
        text += f"# The init container sleeps until {fmt_utc(start_utc)} (the pod holds its resources meanwhile).\n"
    if deadline is not None:
        text += (f"# Deadline {fmt_utc(deadline)}: {fmt_hours((deadline - start_utc).total_seconds())} after the "
                 "start.\n")
    return text
