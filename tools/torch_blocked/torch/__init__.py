"""A stand-in that makes ``import torch`` fail, for `make test-notorch`.

Put this folder first on PYTHONPATH and every ``import torch`` raises ImportError, exactly as
on a machine where PyTorch is not installed. The course must still run: every from-scratch
cell works, and each "check against PyTorch" cell prints how to install torch and skips.
"""

raise ImportError("torch is blocked on purpose (tools/torch_blocked) to test the course without it")
