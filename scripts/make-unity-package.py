#!/usr/bin/env python3
"""Assembles the Unity package of bit_ttt: a folder laid out like a Unity project's root, to copy into one.

    scripts/make-unity-package.py --linux LIB.so --windows bit_ttt.dll --model DEMO.bitt OUT_DIR

OUT_DIR/
  Packages/com.bit-ttt.sdk/            the package (UPM): copy the folder into <project>/Packages/
    package.json                       name, version, Unity version, the C ABI version, the sample
    Runtime/BitTtt.cs                  the C# binding (P/Invoke "bit_ttt"), in assembly BitTtt (BitTtt.asmdef)
    Plugins/x86_64/libbit_ttt.so       Linux x86_64 (Editor + Standalone), .meta with the import settings
    Plugins/x86_64/bit_ttt.dll         Windows x86_64 (Editor + Standalone), .meta with the import settings
    Samples~/NpcBrain/NpcBrain.cs      the sample, imported from the Package Manager window
    README.md, LICENSE-simdjson.txt    where each file goes; the license of the simdjson compiled into the library
  Assets/StreamingAssets/bit_ttt/demo.bitt   the demo model where NpcBrain looks by default

Every file and folder of the package has a .meta with a GUID derived from its path, so the GUIDs stay the same from
one release to the next (Unity needs .meta files in packages installed from a tarball or a registry).
"""
import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "com.bit-ttt.sdk"


def guid(path: str) -> str:
    return hashlib.md5(("bit_ttt unity " + path).encode()).hexdigest()


def folder_meta(g: str) -> str:
    return ("fileFormatVersion: 2\nguid: %s\nfolderAsset: yes\nDefaultImporter:\n  externalObjects: {}\n"
            "  userData: \n  assetBundleName: \n  assetBundleVariant: \n" % g)


def importer_meta(g: str, importer: str) -> str:
    body = {
        "MonoImporter": "  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n  executionOrder: 0\n"
                        "  icon: {instanceID: 0}\n",
        "AssemblyDefinitionImporter": "  externalObjects: {}\n",
        "TextScriptImporter": "  externalObjects: {}\n",
        "DefaultImporter": "  externalObjects: {}\n",
    }[importer]
    return ("fileFormatVersion: 2\nguid: %s\n%s:\n%s  userData: \n  assetBundleName: \n  assetBundleVariant: \n"
            % (g, importer, body))


def plugin_meta(g: str, os_name: str) -> str:
    """A native plugin enabled for one OS: the Editor on that OS and the 64-bit Standalone player of that OS."""
    linux = os_name == "Linux"
    settings = [
        ("Any", "", 0, "{}"),
        ("Editor", "Editor", 1, "\n        CPU: x86_64\n        DefaultValueInitialized: true\n        OS: %s" % os_name),
        ("Standalone", "Linux64", 1 if linux else 0, "\n        CPU: %s" % ("x86_64" if linux else "None")),
        ("Standalone", "OSXUniversal", 0, "\n        CPU: None"),
        ("Standalone", "Win", 0, "\n        CPU: None"),
        ("Standalone", "Win64", 0 if linux else 1, "\n        CPU: %s" % ("None" if linux else "x86_64")),
    ]
    out = ["fileFormatVersion: 2", "guid: " + g, "PluginImporter:", "  externalObjects: {}", "  serializedVersion: 2",
           "  iconMap: {}", "  executionOrder: {}", "  defineConstraints: []", "  isPreloaded: 0",
           "  isOverridable: 1", "  isExplicitlyReferenced: 0", "  validateReferences: 1", "  platformData:",
           "  - first:", "      : Any", "    second:", "      enabled: 0", "      settings:",
           "        Exclude Editor: 0", "        Exclude Linux64: %d" % (0 if linux else 1),
           "        Exclude OSXUniversal: 1", "        Exclude Win: 1", "        Exclude Win64: %d" % (1 if linux else 0)]
    for group, platform, enabled, values in settings:
        out += ["  - first:", "      %s: %s" % (group, platform), "    second:", "      enabled: %d" % enabled,
                "      settings:%s" % (" {}" if values == "{}" else values)]
    out += ["  userData: ", "  assetBundleName: ", "  assetBundleVariant: ", ""]
    return "\n".join(out)


def meta_for(rel: str, path: Path) -> str:
    g = guid(rel)
    if path.is_dir():
        return folder_meta(g)
    if path.name == "libbit_ttt.so":
        return plugin_meta(g, "Linux")
    if path.name == "bit_ttt.dll":
        return plugin_meta(g, "Windows")
    suffix = path.suffix.lower()
    if suffix == ".cs":
        return importer_meta(g, "MonoImporter")
    if suffix == ".asmdef":
        return importer_meta(g, "AssemblyDefinitionImporter")
    if suffix in (".json", ".md", ".txt"):
        return importer_meta(g, "TextScriptImporter")
    return importer_meta(g, "DefaultImporter")


def version_and_abi():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    header = (ROOT / "include" / "bit_ttt.h").read_text()
    version = re.search(r"project\(bit_ttt VERSION ([0-9.]+)", cmake).group(1)
    abi = int(re.search(r"^#define TTT_ABI_VERSION ([0-9]+)", header, re.M).group(1))
    return version, abi


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--linux", required=True, help="libbit_ttt.so built for Linux x86_64")
    ap.add_argument("--windows", required=True, help="bit_ttt.dll built for Windows x86_64")
    ap.add_argument("--model", required=True, help="the demo model (.bitt)")
    ap.add_argument("--simdjson-license", help="simdjson's LICENSE (simdjson is compiled into the libraries)")
    ap.add_argument("out", help="output folder (replaced)")
    a = ap.parse_args()
    version, abi = version_and_abi()
    out = Path(a.out)
    if out.exists():
        shutil.rmtree(out)
    pkg = out / "Packages" / PACKAGE
    (pkg / "Runtime").mkdir(parents=True)
    (pkg / "Plugins" / "x86_64").mkdir(parents=True)
    (pkg / "Samples~" / "NpcBrain").mkdir(parents=True)
    shutil.copyfile(ROOT / "bindings" / "csharp" / "BitTtt.cs", pkg / "Runtime" / "BitTtt.cs")
    (pkg / "Runtime" / "BitTtt.asmdef").write_text(json.dumps({
        "name": "BitTtt", "rootNamespace": "BitTtt", "references": [], "includePlatforms": [],
        "excludePlatforms": [], "allowUnsafeCode": False, "overrideReferences": False, "precompiledReferences": [],
        "autoReferenced": True, "defineConstraints": [], "versionDefines": [], "noEngineReferences": False}, indent=2) + "\n")
    shutil.copyfile(a.linux, pkg / "Plugins" / "x86_64" / "libbit_ttt.so")
    shutil.copyfile(a.windows, pkg / "Plugins" / "x86_64" / "bit_ttt.dll")
    shutil.copyfile(ROOT / "bindings" / "csharp" / "Unity" / "NpcBrain.cs", pkg / "Samples~" / "NpcBrain" / "NpcBrain.cs")
    if a.simdjson_license:
        shutil.copyfile(a.simdjson_license, pkg / "LICENSE-simdjson.txt")
    (pkg / "package.json").write_text(json.dumps({
        "name": PACKAGE,
        "version": version,
        "displayName": "bit_ttt",
        "description": "BitLlama 1.58-bit language models whose Test-Time-Training state (the soul) keeps learning "
                       "while NPCs talk. Native library: C ABI %d (TTT_ABI_VERSION), Linux x86_64 and Windows "
                       "x86_64." % abi,
        "unity": "2021.3",
        "keywords": ["llm", "npc", "ai", "native"],
        "bitTttAbiVersion": abi,
        "samples": [{"displayName": "NPC that remembers (NpcBrain)",
                     "description": "A MonoBehaviour with its own soul, saved across sessions; uses "
                                    "StreamingAssets/bit_ttt/demo.bitt.",
                     "path": "Samples~/NpcBrain"}],
    }, indent=2) + "\n")
    (pkg / "README.md").write_text(
        "# bit_ttt %s for Unity (C ABI %d)\n\nCopy `Packages/%s` into your project's `Packages/` folder and "
        "`Assets/StreamingAssets/bit_ttt/demo.bitt` into your project's `Assets/StreamingAssets/bit_ttt/`. "
        "Import the NpcBrain sample from the Package Manager window. Details: docs/unity.md of the bit_ttt "
        "repository.\n" % (version, abi, PACKAGE))
    model_dir = out / "Assets" / "StreamingAssets" / "bit_ttt"
    model_dir.mkdir(parents=True)
    shutil.copyfile(a.model, model_dir / "demo.bitt")

    # .meta beside every file and folder of the package, except inside Samples~ (hidden from Unity until imported).
    for path in sorted(pkg.rglob("*")):
        rel = path.relative_to(pkg).as_posix()
        if rel.startswith("Samples~"):
            continue
        Path(str(path) + ".meta").write_text(meta_for(PACKAGE + "/" + rel, path))
    print("Unity package %s %s (C ABI %d) in %s" % (PACKAGE, version, abi, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
