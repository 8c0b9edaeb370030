"""Patches to faust-streaming, each pinned to the version in pyproject.toml and guarded
by a tripwire test (tests/unit/runtime/faust/) that fails when the upstream code changes."""
