"""The desktop app (PySide6). Only this package imports Qt; it imports nothing heavy at module level,
so the first window shows before torch is loaded (the engine thread loads it)."""
