"""One Ray version everywhere: the driver, the cluster image and the job specs must agree."""

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_ray_is_pinned_identically_in_pyproject_and_the_image():
    (version,) = re.findall(r'"ray\[data\]==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert re.search(rf"^ARG RAY_VERSION={re.escape(version)}$", (ROOT / "docker" / "Dockerfile").read_text(), re.M)


def test_the_image_installs_the_readmes_torch_pin():
    readme_pin = re.search(r"pip install (torch==[\d.]+)", (ROOT / "README.md").read_text()).group(1)
    assert f"pip install --no-cache-dir {readme_pin}" in (ROOT / "docker" / "Dockerfile").read_text()
