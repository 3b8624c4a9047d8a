"""The Training tab's pages, one widget per module: index, glossary, download, prepare, fine-tune, evaluate, use."""
