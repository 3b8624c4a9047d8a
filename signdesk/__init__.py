"""SignDesk: open desktop sign-language interpretation with InternVL3 and LoRA adapters.

Importing the package is cheap on purpose: nothing heavy (torch, transformers, Qt) is imported here.
"""

from signdesk._version import __version__

__all__ = ["__version__"]
