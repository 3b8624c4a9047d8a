"""The WLASL data pipeline: index, glossaries, download, trim, validation, splits and manifests.

Everything here is Qt-free and usable from the command line (``signdesk data ...``); the GUI runs the
same commands as child processes and reads their JSON-lines events. The row formats every stage
writes are defined once, in ``signdesk.data.manifest``.
"""
