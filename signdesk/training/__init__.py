"""LoRA fine-tuning and evaluation (Qt-free): collator, trainer, progress events, metrics, adapter metadata.

Training reuses the engine's prompt builder, frame sampler and glossary scoring, so what is trained
is exactly what is run. Heavy libraries (torch, transformers, peft, trl) are imported inside functions.
"""
