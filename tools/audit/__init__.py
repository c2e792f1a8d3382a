"""The bad-input audit of nnopt_lib's public API; run ``python tools/audit_inputs.py``."""
