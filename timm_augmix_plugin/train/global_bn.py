"""BatchNorm over the global batch of all processes, on any device (the CPU/gloo included).

With a global batch split over N processes, plain BatchNorm normalises each process's slice with that slice's
statistics, so an N-process run differs from the 1-process run of the same recipe. ``torch.nn.SyncBatchNorm`` fixes
that on GPUs only; :class:`GlobalBatchNorm` computes the batch mean and variance over every process with
autograd-aware all-reduces (two passes, as a single process computes them), updates the running statistics with the
unbiased global variance and sends the gradients of every process's loss back through the statistics.
:func:`convert_global_batchnorm` swaps it in for ``nn.BatchNorm1d/2d/3d`` (``train.sync_bn``).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["GlobalBatchNorm", "convert_global_batchnorm", "has_batchnorm", "unsupported_batchnorms"]

_PLAIN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _world_size() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics span the batches of all processes (any input rank >= 2)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {input.dim()}-D")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not (self.training and _world_size() > 1):
            return super().forward(input)
        from torch.distributed.nn.functional import all_reduce

        self._check_input_dim(input)
        dims = [d for d in range(input.dim()) if d != 1]
        x = input.float()
        local_count = torch.tensor([x.numel() / x.shape[1]], dtype=torch.float32, device=x.device)
        sums = all_reduce(torch.cat([x.sum(dims), local_count]))
        count = sums[-1]
        mean = sums[:-1] / count
        shape = [1, -1] + [1] * (input.dim() - 2)
        centred = x - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / count
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
                unbiased = var * (count / (count - 1).clamp(min=1))
                self.running_mean.mul_(1 - momentum).add_(mean.detach().to(self.running_mean.dtype), alpha=momentum)
                self.running_var.mul_(1 - momentum).add_(unbiased.detach().to(self.running_var.dtype),
                                                         alpha=momentum)
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(input.dtype)


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` holds any BatchNorm layer (timm's subclasses included)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def unsupported_batchnorms(model: nn.Module) -> list[str]:
    """Names of BatchNorm layers :func:`convert_global_batchnorm` cannot convert (subclasses such as timm's split
    or fused-activation BN)."""
    return sorted({type(m).__name__ for m in model.modules()
                   if isinstance(m, nn.modules.batchnorm._BatchNorm) and type(m) not in (*_PLAIN, GlobalBatchNorm)})


def convert_global_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d/2d/3d`` (exact type) in ``module`` by a :class:`GlobalBatchNorm` with the same
    parameters and buffers; returns the (possibly new) module. Parameter names are unchanged."""
    if type(module) in _PLAIN:
        new = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                new.weight = module.weight
                new.bias = module.bias
        if module.track_running_stats:
            new.running_mean, new.running_var = module.running_mean, module.running_var
            new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        converted = convert_global_batchnorm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module
