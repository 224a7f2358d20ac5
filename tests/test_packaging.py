"""One Ray version and one image everywhere: the driver, the cluster image and every job spec."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
SPECS = ["rayjob.yaml", "raycronjob.yaml", "raycluster.yaml", "cronjob.yaml"]


def ray_pin() -> str:
    (version,) = re.findall(r'"ray\[[a-z,]+\]==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    return version


def spec(name):
    return yaml.safe_load((ROOT / "jobs" / name).read_text())


def test_ray_is_pinned_identically_in_pyproject_the_image_and_the_job_specs():
    version = ray_pin()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert re.search(rf"^ARG RAY_VERSION={re.escape(version)}$", dockerfile, re.M)
    assert "FROM rayproject/ray:${RAY_VERSION}-py311-gpu" in dockerfile  # the official image, GPU-ready
    assert spec("rayjob.yaml")["spec"]["rayClusterSpec"]["rayVersion"] == version
    assert spec("raycronjob.yaml")["spec"]["jobTemplate"]["rayClusterSpec"]["rayVersion"] == version
    assert spec("raycluster.yaml")["spec"]["rayVersion"] == version


def test_the_image_installs_the_readmes_torch_pin():
    readme_pin = re.search(r"pip install (torch==[\d.]+)", (ROOT / "README.md").read_text()).group(1)
    assert f"pip install --no-cache-dir {readme_pin}" in (ROOT / "docker" / "Dockerfile").read_text()


def container_images(node) -> list[str]:
    """Every `image` of every container in a parsed Kubernetes spec, however deeply nested."""
    if isinstance(node, dict):
        found = [node["image"]] if "image" in node and "name" in node else []
        return found + [image for value in node.values() for image in container_images(value)]
    if isinstance(node, list):
        return [image for value in node for image in container_images(value)]
    return []


@pytest.mark.parametrize("name", SPECS)
def test_every_spec_runs_the_gen1_batch_image(name):
    images = container_images(spec(name))
    assert images and set(images) == {"registry.example.com/studio/gen1-batch:0.1.0"}


def test_the_ray_jobs_run_gen1_on_the_cluster():
    for job in (spec("rayjob.yaml")["spec"], spec("raycronjob.yaml")["spec"]["jobTemplate"]):
        assert job["entrypoint"].startswith("gen1 run ") and job["entrypoint"].endswith("--address auto")
    cron = spec("raycronjob.yaml")
    assert (cron["apiVersion"], cron["kind"]) == ("ray.io/v1", "RayCronJob") and cron["spec"]["schedule"]
    assert cron["spec"]["jobTemplate"] == spec("rayjob.yaml")["spec"]  # one definition of the nightly job


def test_the_plain_cronjob_submits_each_night_once():
    cron = spec("cronjob.yaml")
    assert cron["kind"] == "CronJob" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    command = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert command.startswith("gen1 submit ") and '--run-id "$(date +%F)"' in command and "--wait" in command




# ------------------------------------------------------------------------------------ dependencies

def requirement_name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower().replace("_", "-")


def declared_dependencies() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def imported_top_level_modules() -> set[str]:
    """Every module the package imports at its top level name, found by parsing its source."""
    import ast
    import sys

    names = set()
    for path in (ROOT / "gen1_batch").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"gen1_batch"}


def otio_adapter_modules() -> set[str]:
    """Top-level modules of the OpenTimelineIO adapters the package names: OTIO loads them by name
    (gen1_batch.editorial.ADAPTERS), not by an import."""
    from pathlib import PurePath

    import opentimelineio as otio

    from gen1_batch.editorial import ADAPTERS

    site = PurePath(otio.__file__).parents[1]
    return {PurePath(a.module_abs_path()).relative_to(site).parts[0] for a in otio.plugins.ActiveManifest().adapters
            if a.name in ADAPTERS.values()}


def test_every_imported_package_is_declared_and_every_declared_package_is_imported():
    from importlib.metadata import packages_distributions

    distributions = packages_distributions()
    imported = {requirement_name(distributions[module][0])
                for module in imported_top_level_modules() | otio_adapter_modules()}
    declared = {requirement_name(r) for r in declared_dependencies()}
    assert imported - declared == set(), "imported but not declared in pyproject.toml"
    assert declared - imported == set(), "declared in pyproject.toml but never imported"


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[requirement_name(name)] = version.strip()
    return pins


def test_the_constraints_pin_every_dependency_within_its_declared_range():
    from packaging.requirements import Requirement

    pins = constraints()
    for requirement in map(Requirement, declared_dependencies()):
        name = requirement_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def test_ci_the_readme_and_the_image_install_with_the_same_constraints():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert 'pip install -c constraints.txt -e ".[dev]"' in ci and 'pip install -c constraints.txt -e ".[dev]"' in readme
    assert "COPY --chown=ray:users pyproject.toml README.md constraints.txt ./" in dockerfile
    assert 'pip install --no-cache-dir -c constraints.txt ".[s3,gcs]"' in dockerfile
    assert constraints()["torch"] == re.search(r"pip install torch==([\d.]+)", readme).group(1)
