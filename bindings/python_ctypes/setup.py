"""Builds the native library with CMake and ships it inside the package (bit_ttt/libbit_ttt.so, bit_ttt.dll or
libbit_ttt.dylib), so that ``pip install bindings/python_ctypes`` gives a working ``import bit_ttt`` with no
environment variable. The metadata is in pyproject.toml; this file only adds the native build.

Environment knobs (all optional):

``BIT_TTT_BUILD_DIR``
    an already configured CMake build folder of this checkout: only its ``bit_ttt`` target is (re)built, and its
    library shipped. Without it, a private Release build is configured under setuptools' build_temp with simdjson
    and the C++ runtime linked in (``TTT_BUNDLED_SIMDJSON=ON``: run ``scripts/get-simdjson-source.sh`` first).
``BIT_TTT_CMAKE_ARGS``
    extra arguments for that configure step, split on spaces.
``BIT_TTT_PREBUILT_LIBRARY``
    a library file to ship as it is, without building (e.g. one cross-built for another platform).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent  # the bit_ttt checkout: bindings/python_ctypes/../..


class BinaryDistribution(Distribution):
    """The package carries a native library, so its wheel is platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


def shipped_name() -> str:
    if sys.platform == "win32":
        return "bit_ttt.dll"
    if sys.platform == "darwin":
        return "libbit_ttt.dylib"
    return "libbit_ttt.so"


def run(cmd: list) -> None:
    print("bit_ttt setup: " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.check_call([str(c) for c in cmd])


def built_library(build_dir: Path) -> Path:
    """The library file the build produced (the real file behind the libbit_ttt.so link)."""
    for candidate in (build_dir / shipped_name(), build_dir / "bin" / "bit_ttt.dll", build_dir / "Release" / "bit_ttt.dll"):
        if candidate.exists():
            return candidate.resolve()
    raise RuntimeError("bit_ttt setup: the build in %s produced no %s" % (build_dir, shipped_name()))


def build_native_library(build_temp: Path) -> Path:
    prebuilt = os.environ.get("BIT_TTT_PREBUILT_LIBRARY")
    if prebuilt:
        if not Path(prebuilt).is_file():
            raise RuntimeError("bit_ttt setup: BIT_TTT_PREBUILT_LIBRARY=%s is not a file" % prebuilt)
        return Path(prebuilt).resolve()
    if not (ROOT / "CMakeLists.txt").is_file() or not (ROOT / "include" / "bit_ttt.h").is_file():
        raise RuntimeError(
            "bit_ttt setup: %s is not a bit_ttt checkout; install from bindings/python_ctypes inside the "
            "repository, or set BIT_TTT_PREBUILT_LIBRARY to a built library" % ROOT)
    cmake = shutil.which("cmake")
    if not cmake:
        raise RuntimeError("bit_ttt setup: needs cmake (and a C++17 compiler) to build the native library")
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    existing = os.environ.get("BIT_TTT_BUILD_DIR")
    if existing:
        build_dir = Path(existing).resolve()
        if not (build_dir / "CMakeCache.txt").is_file():
            raise RuntimeError("bit_ttt setup: BIT_TTT_BUILD_DIR=%s is not a configured CMake build" % existing)
    else:
        build_dir = build_temp / "bit_ttt-cmake"
        run([cmake, "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DTTT_BUNDLED_SIMDJSON=ON",
             "-DTTT_STATIC_RUNTIME=ON", "-DTTT_BUILD_TESTS=OFF", "-DTTT_BUILD_BENCH=OFF", "-DTTT_BUILD_EXAMPLES=OFF",
             "-DTTT_BUILD_TOOLS=OFF", "-DTTT_CUDA=OFF"] + os.environ.get("BIT_TTT_CMAKE_ARGS", "").split())
    run([cmake, "--build", build_dir, "--config", "Release", "--target", "bit_ttt", "-j", jobs])
    return built_library(build_dir)


class BuildPyWithLibrary(build_py):
    """build_py, then the native library beside the package's modules."""

    def run(self) -> None:
        super().run()
        build_temp = Path(self.get_finalized_command("build").build_temp).resolve()
        library = build_native_library(build_temp)
        dest = Path(self.build_lib) / "bit_ttt" / shipped_name()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library, dest)  # a real file: wheels cannot hold the libbit_ttt.so -> .so.N links
        print("bit_ttt setup: shipping %s as %s" % (library, dest), flush=True)


commands = {"build_py": BuildPyWithLibrary}
try:  # the wheel tag: any Python 3 (ctypes, no extension module), this platform
    from wheel.bdist_wheel import bdist_wheel

    class BdistWheelPy3(bdist_wheel):
        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, platform = super().get_tag()
            return "py3", "none", platform

    commands["bdist_wheel"] = BdistWheelPy3
except ImportError:  # no wheel package: plain installs still work
    pass

setup(distclass=BinaryDistribution, cmdclass=commands)
