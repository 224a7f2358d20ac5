"""`gen1 submit`, `status` and `logs` against a cluster with token authentication: the token is sent
whenever one is here (RAY_AUTH_TOKEN, or ~/.ray/auth_token, which any local `ray.init` writes), and
without it the command says in one line what to do. A stand-in for the Ray Jobs API checks the
token as Ray's dashboard does (tests/test_cluster.py does the same against a real `ray start`)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.helpers import gen1, write_manifest

TOKEN = "a" * 64
NO_TOKEN = {"RAY_AUTH_TOKEN": None, "RAY_AUTH_TOKEN_PATH": None, "RAY_AUTH_MODE": None, "RAY_ADDRESS": None}


class JobsAPI(BaseHTTPRequestHandler):
    """GET /api/version, /api/jobs/ID and /api/jobs/ID/logs, each only with the cluster's token."""

    seen: ClassVar[list[str]] = []  # the authorization header of each request
    submitted: ClassVar[list[dict]] = []  # the body of each job submission

    def do_GET(self):
        given = self.headers.get("authorization", "")
        self.seen.append(given)
        if not given:
            return self.answer(401, "Unauthorized: Missing authentication token")
        if given != f"Bearer {TOKEN}":
            return self.answer(403, "Forbidden: Invalid authentication token")
        if self.path == "/api/version":
            return self.answer(200, {"version": "4", "ray_version": "2.60.0", "ray_commit": "x"})
        if self.path == "/api/jobs/gen1-night/logs":
            return self.answer(200, {"logs": "2 succeeded, 0 failed\n"})
        if self.path == "/api/jobs/gen1-night":
            return self.answer(200, {"type": "SUBMISSION", "submission_id": "gen1-night", "status": "SUCCEEDED",
                                     "entrypoint": "python -m gen1_batch run", "message": "done", "metadata": {}})
        return self.answer(404, "not found")

    def do_POST(self):
        if self.headers.get("authorization", "") != f"Bearer {TOKEN}":
            return self.answer(401, "Unauthorized: Missing authentication token")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.submitted.append(body)
        return self.answer(200, {"submission_id": body["submission_id"], "job_id": None})

    def answer(self, code, body):
        data = (json.dumps(body) if isinstance(body, dict) else body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def cluster():
    server = ThreadingHTTPServer(("127.0.0.1", 0), JobsAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def home_with_token(tmp_path, token=TOKEN):
    (tmp_path / ".ray").mkdir(parents=True)
    (tmp_path / ".ray" / "auth_token").write_text(token)
    return {**NO_TOKEN, "HOME": str(tmp_path)}


def test_the_token_file_ray_leaves_in_home_is_sent_without_any_setting(cluster, tmp_path):
    env = home_with_token(tmp_path)
    status = gen1("status", "gen1-night", "--address", cluster, "--json", env=env, check=0)
    assert json.loads(status.stdout)["status"] == "SUCCEEDED"
    assert "2 succeeded, 0 failed" in gen1("logs", "gen1-night", "--address", cluster, env=env, check=0).stdout
    assert JobsAPI.seen[-1] == f"Bearer {TOKEN}"


def test_the_token_in_the_environment_is_sent(cluster, tmp_path):
    env = {**NO_TOKEN, "HOME": str(tmp_path), "RAY_AUTH_TOKEN": TOKEN}
    gen1("status", "gen1-night", "--address", cluster, env=env, check=0)


@pytest.mark.parametrize("command", ["status", "logs", "submit"])
def test_without_the_token_each_command_says_what_to_do_in_one_line(command, cluster, tmp_path):
    args = {"status": ["gen1-night"], "logs": ["gen1-night"],
            "submit": [write_manifest(tmp_path / "m.jsonl", [{"shot_id": "a", "video": "a.mp4", "prompt": "p"}]),
                       "--output", str(tmp_path / "out")]}[command]
    result = gen1(command, *args, "--address", cluster, env={**NO_TOKEN, "HOME": str(tmp_path)}, check=2)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr + result.stdout, result.stderr
    assert f"the Ray cluster at {cluster} requires its authentication token, and none was found here" in result.stderr
    assert "RAY_AUTH_TOKEN" in result.stderr and "~/.ray/auth_token" in result.stderr


def test_a_token_the_cluster_refuses_is_said_to_be_the_wrong_one(cluster, tmp_path):
    result = gen1("status", "gen1-night", "--address", cluster, env=home_with_token(tmp_path, "b" * 64), check=2)
    assert f"the Ray cluster at {cluster} refused the authentication token found here" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr



def test_submit_train_sends_the_gen1_train_command_with_its_options_and_checks_the_manifest_here(
        cluster, tmp_path):
    import shlex

    env = home_with_token(tmp_path)
    data = write_manifest(tmp_path / "train.jsonl", [{"video": "/cluster/clips/a.mp4"}, {"image": "/cluster/b.png"}])
    result = gen1("submit", data, "--train", "tiny", "--output", str(tmp_path / "ckpt"), "--address", cluster,
                  "--no-upload-package", "--workers", "4", "--gpus-per-worker", "1", env=env, check=0)
    assert "submitted gen1-" in result.stdout
    command = shlex.split(JobsAPI.submitted[-1]["entrypoint"])
    assert command == ["python", "-m", "gen1_batch", "train", "tiny", "--data", data, "--output",
                       str(tmp_path / "ckpt"), "--workers", "4", "--gpus-per-worker", "1", "--address", "auto"]

    bad = write_manifest(tmp_path / "bad.jsonl", [{"caption": "no media"}])
    refused = gen1("submit", bad, "--train", "tiny", "--output", str(tmp_path / "o"), "--address", cluster,
                   env=env, check=2)
    assert "row 1" in refused.stderr + refused.stdout and "Traceback" not in refused.stderr
    wrong = gen1("submit", data, "--train", "no-such-recipe", "--output", str(tmp_path / "o"), "--address",
                 cluster, env=env, check=2)
    assert "'no-such-recipe' is not a recipe" in wrong.stderr
