# SPDX-License-Identifier: GPL-2.0
"""The package as its users get it: the version is dkms.conf's, and `pip install ./python`
into a fresh virtual environment works offline (no package index: --no-index, and
--no-build-isolation so that the installed setuptools builds it; on Debian 12,
python3-setuptools, python3-wheel and python3-venv, which scripts/setup.sh installs).

TOA_UOA_NO_SKIP=1 (scripts/test.sh sets it) turns a skip for a missing build backend into a
failure."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
PYDIR = HERE.parent
TOP = PYDIR.parent
sys.path.insert(0, str(PYDIR))
import toa_uoa  # noqa: E402


def dkms_version() -> str:
    m = re.search(r'^PACKAGE_VERSION="([^"]+)"$', (TOP / "dkms.conf").read_text(), re.M)
    assert m, "no PACKAGE_VERSION in dkms.conf"
    return m.group(1)


def missing_build_backend() -> str:
    """What pip install --no-build-isolation lacks in this interpreter, or ''."""
    try:
        import ensurepip  # noqa: F401
    except ImportError:
        return "venv's ensurepip (Debian: python3-venv)"
    try:
        import setuptools
    except ImportError:
        return "setuptools (Debian: python3-setuptools)"
    major_minor = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
    if major_minor < (61, 0):
        return "setuptools 61 or newer (this is %s)" % setuptools.__version__
    if major_minor < (70, 1):  # older setuptools builds wheels with the wheel package
        try:
            import wheel  # type: ignore[import]  # noqa: F401
        except ImportError:
            return "wheel, which setuptools %s builds wheels with (Debian: python3-wheel)" % setuptools.__version__
    return ""


class Version(unittest.TestCase):
    def test_version_is_dkms_conf_s(self) -> None:
        self.assertEqual(toa_uoa.__version__, dkms_version())


class PipInstall(unittest.TestCase):
    def test_pip_install_offline_into_a_venv(self) -> None:
        missing = missing_build_backend()
        if missing:
            if os.environ.get("TOA_UOA_NO_SKIP"):
                self.fail("cannot build the package offline with %s: no %s" % (sys.executable, missing))
            self.skipTest("no " + missing)
        with tempfile.TemporaryDirectory() as tmp:
            t = pathlib.Path(tmp)
            # A copy of python/: pip builds in the source tree (build/, *.egg-info).
            src = t / "python"
            shutil.copytree(PYDIR, src, ignore=shutil.ignore_patterns(
                "build", "*.egg-info", "__pycache__", ".mypy_cache"))
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(t / "venv")],
                           check=True)
            py = str(t / "venv" / "bin" / "python")
            env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
            env.pop("PYTHONPATH", None)
            r = subprocess.run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", str(src)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(r.returncode, 0, r.stdout)
            # Imported from somewhere else than the sources: the installed copy.
            r = subprocess.run(
                [py, "-c", "import importlib.metadata as m, os, toa_uoa; "
                 "d = os.path.dirname(toa_uoa.__file__); "
                 "print(d); print(m.version('toa_uoa')); print(sorted(os.listdir(d)))"],
                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True)
            where, version, files = r.stdout.splitlines()
            self.assertTrue(where.startswith(str(t / "venv")), where)
            self.assertEqual(version, dkms_version())
            self.assertIn("py.typed", files)


if __name__ == "__main__":
    unittest.main()
