"""Command-line flags that choose where the model runs (``--backend``, ``--server URL`` ...) → settings.

Shared by every command that opens an interpreter; the API key is never a flag or a setting (it comes from
``SIGNDESK_API_KEY`` or the key file, see ``signdesk.engine.server.read_api_key``).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_server_options(group: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add the flags to ``group``: the model options' group, so every model command lists them together."""
    group.add_argument("--backend", choices=["local", "server"],
                       help="where the model runs: here (local) or on a vLLM server (default: settings)")
    group.add_argument("--server", metavar="URL", dest="server_url",
                       help="the vLLM server, e.g. https://gpu.example.org:8000 (implies --backend server); "
                            "API key: SIGNDESK_API_KEY or --key-file")
    group.add_argument("--key-file", metavar="FILE", dest="server_key_file",
                       help="a file holding the server's API key, readable only by you (chmod 600)")
    group.add_argument("--ca-bundle", metavar="PEM", dest="server_ca_bundle",
                       help="trust the server's certificate through this private CA bundle (TLS stays verified)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", dest="server_timeout",
                       help="seconds to wait for one server answer (default 30)")


def server_overrides(args: Any) -> dict[str, Any]:
    """Settings overrides from the flags above (absent flags: None, dropped by the caller)."""
    url = getattr(args, "server_url", None)
    backend = getattr(args, "backend", None) or ("server" if url else None)
    return {"backend": backend, "server.url": url, "server.key_file": getattr(args, "server_key_file", None),
            "server.ca_bundle": getattr(args, "server_ca_bundle", None),
            "server.timeout": getattr(args, "server_timeout", None)}
