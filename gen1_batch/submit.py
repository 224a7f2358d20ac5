"""Submitting `gen1 run` (or `gen1 train`) to a Ray cluster through Ray Jobs, once per run.

The submission id is a hash of what the job does (the entrypoint: manifest, output, model, flags),
of the manifest's content and of an optional run id (a nightly schedule passes the date). So
submitting the same run again never starts it twice: while it is pending or running, or after it
succeeded, the existing submission is reported instead. An attempt that failed or stopped (its
driver died, the cluster went away, shots failed) is followed by a new attempt, `<id>-2`, …, which
resumes: `gen1 run` skips the shots that already finished.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen1_batch import storage

ACTIVE = ("PENDING", "RUNNING")
TOKEN_HOWTO = ("set RAY_AUTH_TOKEN to the cluster's token (or RAY_AUTH_TOKEN_PATH to a file holding it), or "
               "copy the head node's ~/.ray/auth_token to ~/.ray/auth_token here (`ray get-auth-token` on the "
               "head prints it)")


@dataclass(frozen=True)
class Submission:
    submission_id: str
    action: str  # submitted | running | succeeded
    status: str


def auth_headers() -> dict[str, str]:
    """The Ray Jobs request header with the cluster's token, wherever Ray itself finds one
    (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token); empty when there is none.

    Ray's client sends a token only when RAY_AUTH_MODE=token is set where it runs, yet `ray start
    --head` turns token authentication on whenever ~/.ray/auth_token exists on the head, and any
    local `ray.init` (an earlier `gen1 run`) writes that file: so the token is sent whenever one
    is here (a cluster without authentication ignores it).
    """
    try:
        from ray._raylet import AuthenticationTokenLoader
    except ImportError:  # a Ray without its compiled part (docs builds): nothing to send
        return {}
    loader = AuthenticationTokenLoader.instance()
    return dict(loader.get_token_for_http_header(ignore_auth_mode=True) or {})


def entrypoint(args: list[str], command: str = "run") -> str:
    """The command the cluster runs: `gen1 run` (or `gen1 train`) with the same arguments, connected to
    the cluster."""
    return shlex.join(["python", "-m", "gen1_batch", command, *args, "--address", "auto"])


def submission_id(command: str, manifest: str, run_id: str | None) -> str:
    digest = hashlib.sha256()
    digest.update(command.encode())
    digest.update(hashlib.sha256(storage.read_bytes(manifest)).digest())
    digest.update((run_id or "").encode())
    return f"gen1-{digest.hexdigest()[:16]}"


def runtime_env(env_vars: dict[str, str], upload_package: bool) -> dict[str, Any]:
    """The job's environment: storage and hub variables, and (unless the cluster's image already has
    the same version) this package's code, so driver and workers run what was submitted."""
    env: dict[str, Any] = {"env_vars": env_vars}
    if upload_package:
        env["py_modules"] = [str(Path(__file__).parent)]
    return env


def submit(client: Any, command: str, base_id: str, env: dict[str, Any], metadata: dict[str, str]) -> Submission:
    """Submit once: report a pending, running or succeeded attempt; after a failed one, the next."""
    attempt = 1
    while True:
        sid = base_id if attempt == 1 else f"{base_id}-{attempt}"
        try:
            status = str(client.get_job_status(sid).value)
        except RuntimeError:  # no such submission: this attempt is free
            client.submit_job(entrypoint=command, submission_id=sid, runtime_env=env, metadata=metadata)
            return Submission(sid, "submitted", "PENDING")
        if status in ACTIVE:
            return Submission(sid, "running", status)
        if status == "SUCCEEDED":
            return Submission(sid, "succeeded", status)
        attempt += 1  # FAILED or STOPPED: the next attempt resumes from the finished shots
