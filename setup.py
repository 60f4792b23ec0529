"""The one build step pyproject.toml cannot say: the course's example scripts (examples/*.py) are
copied into the package as glassnet/_examples/, so that ``glassnet lecture`` runs them from a
normal (non-editable) install too. Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

EXAMPLES = Path(__file__).resolve().parent / "examples"


class BuildWithExamples(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "glassnet" / "_examples"
        target.mkdir(parents=True, exist_ok=True)
        for script in sorted(EXAMPLES.glob("*.py")):   # none in an sdist made without them: the lecture says so
            shutil.copyfile(script, target / script.name)


setup(cmdclass={"build_py": BuildWithExamples})
