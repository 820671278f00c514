"""Install the local providers for Terraform: executables plus a CLI config with ``dev_overrides``.

Terraform finds ``hashicorp/aws``, ``hashicorp/archive``, ``hashicorp/random``, ``hashicorp/null`` and
``hashicorp/time`` through the CLI configuration written here, so ``init`` needs no registry. Each
executable is a two-line Python script run by this interpreter.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import selfheal

__all__ = ["PROVIDERS", "install_providers"]

#: Provider source address -> module whose ``main()`` serves it.
PROVIDERS = {
    "hashicorp/aws": "selfheal.terraform.aws_provider",
    "hashicorp/archive": "selfheal.terraform.archive_provider",
    "hashicorp/random": "selfheal.terraform.random_provider",
    "hashicorp/null": "selfheal.terraform.null_provider",
    "hashicorp/time": "selfheal.terraform.time_provider",
}


def install_providers(home: Path) -> Path:
    """Write the provider executables under ``home/providers`` and return the CLI config file's path."""
    providers = home / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    src_dir = Path(selfheal.__file__).resolve().parent.parent
    for source, module in PROVIDERS.items():
        exe = providers / f"terraform-provider-{source.split('/')[1]}"
        text = (
            f"#!{sys.executable}\n"
            "import sys\n"
            f"sys.path.insert(0, {str(src_dir)!r})\n"
            f"from {module} import main\n"
            "main()\n"
        )
        if not exe.exists() or exe.read_text() != text:
            exe.write_text(text)
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    overrides = "\n".join(f"    {json.dumps(s)} = {json.dumps(str(providers))}" for s in PROVIDERS)
    config = home / "terraform.rc"
    config.write_text(
        "# Written by selfheal: Terraform uses selfheal's local providers, not the registry.\n"
        "provider_installation {\n  dev_overrides {\n" + overrides + "\n  }\n  direct {}\n}\n"
    )
    return config
