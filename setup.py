"""Package discovery only (metadata is in pyproject.toml): the repository folder backends/ installs as
autoload.backends, so no top-level "backends" package collides with another distribution's."""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["autoload", "autoload.*"])
    + ["autoload." + name for name in find_packages(include=["backends", "backends.*"])],
    package_dir={"autoload.backends": "backends"},
)
