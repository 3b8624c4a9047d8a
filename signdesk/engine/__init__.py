"""The interpretation engine (Qt-free): model and adapter loading, prompts, interpretation."""
