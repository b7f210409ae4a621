"""Only the package list lives here (pyproject.toml has everything else): the packages found
under neurospec/, plus neurospec._fixtures, which setuptools cannot find because it is the
repository's fixtures/ folder mapped into the wheel (see [tool.setuptools] in pyproject.toml)."""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["neurospec", "neurospec.*"]) + ["neurospec._fixtures"])
