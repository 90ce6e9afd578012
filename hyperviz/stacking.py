"""K copies of one model with their parameters stacked along a leading K axis, as one batch.

`StackedCopies(models, context, x, y, ...)` stacks the copies' parameters and buffers
(`torch.func.stack_module_state`), generates all K Θ with one vmapped call of `weights()`
(the first model serves as the template), evaluates the K·S target networks in one batched
call and returns the K losses. `hyperviz.seeds.fit_seeds` trains them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import stack_module_state, vmap

Params = dict[str, torch.Tensor]


class StackedCopies:
    """The K models' parameters and buffers stacked along a leading K axis; one batched loss.

    The first model serves as the template: for each of the K slices, vmap puts the slice's
    tensors into the template's parameter and buffer slots, calls `weights(context)`, and
    puts the template's own tensors back.
    """

    def __init__(
        self,
        models: Sequence[nn.Module],
        context: object,
        x: torch.Tensor,
        y: torch.Tensor,
        example_dim: int,
        y_example_dim: int,
        loss: str,
    ) -> None:
        """Checked data: x and y hold their examples along `example_dim` and `y_example_dim`."""
        self.params, self.buffers = stack_module_state(models)
        self.k, self.model, self.context = len(models), models[0], context
        self.target, self.loss_name = models[0].target, loss
        self.slots = _slots(models[0], self.params, self.buffers)
        self.modules = list(models[0].modules())
        self.generate = vmap(self._weights)
        # A model whose Θ is one of its parameters (a DNN): the stacked parameter is the K Θ.
        with torch.no_grad():
            theta = models[0].weights(context)
        named = {id(p): name for name, p in models[0].named_parameters()}
        self.theta_name = named.get(id(theta))
        self.x, self.y, self.x_dim, self.y_dim = x, y, example_dim, y_example_dim
        self.frozen: dict[int, Params] = {}

    def _weights(self, tensors: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One copy's Θ, and its buffers as weights() left them (it may replace some)."""
        old = [table[key] for table, key, _ in self.slots]
        for table, key, index in self.slots:
            table[key] = tensors[index]
        attributes = [(module, dict(vars(module))) for module in self.modules]
        try:
            theta = self.model.weights(self.context)
            current = {index: table[key] for table, key, index in self.slots}
        finally:
            for (table, key, _), tensor in zip(self.slots, old, strict=True):
                table[key] = tensor
            _restore_tensor_attributes(attributes)
        return theta, [current[i] for i in range(len(self.params), len(tensors))]

    def losses(self, idx: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The K losses (K,) and the K Θ, (K, P) or (K, S, P); `idx` (K, b) picks examples."""
        if self.theta_name is not None:
            thetas = self.params[self.theta_name]
        else:
            thetas = self._generate()
        x, y = self.x, self.y
        if idx is not None:  # per copy: (K, b, ...) or (K, S, b, ...)
            x = x.index_select(self.x_dim, idx.flatten()).unflatten(self.x_dim, idx.shape)
            y = y.index_select(self.y_dim, idx.flatten()).unflatten(self.y_dim, idx.shape)
            x, y = x.movedim(self.x_dim, 0), y.movedim(self.y_dim, 0)
        sets = thetas.shape[1:-1]  # () for a DNN, (S,) for a HyperDNN
        if sets and (idx is not None or self.x_dim == 1):  # one input set per network
            one_set = x.shape[x.dim() - self.target.input_dims :]
            if idx is not None and self.x_dim == 0:
                x = x.unsqueeze(1)
            x = x.expand(self.k, *sets, *one_set).reshape(-1, *one_set)
        if sets and idx is not None and self.y_dim == 0:
            y = y.unsqueeze(1)  # (K, 1, b, ...): the copy's examples for each of its S networks
        prediction = self.target(x, thetas.reshape(-1, thetas.shape[-1]))
        prediction = prediction.reshape(self.k, *sets, *prediction.shape[1:])
        return copy_losses(
            prediction, y if idx is not None else y.unsqueeze(0), self.loss_name
        ), thetas

    def _generate(self) -> torch.Tensor:
        """The K Θ from one vmapped call of weights(); the buffers as it left them."""
        try:
            thetas, buffers = self.generate([*self.params.values(), *self.buffers.values()])
        except RuntimeError as error:
            raise ValueError(
                f"this model cannot generate its weights as a batch over seeds ({error}); its "
                "weights() may draw random numbers, read values with .item() or write into "
                "tensors in place: train each seed with hv.fit"
            ) from error
        self.buffers = dict(zip(self.buffers, buffers, strict=True))
        return thetas

    def freeze(self, k: int) -> None:
        """Keep copy k's parameters and buffers as they are now (it diverged)."""
        self.frozen[k] = {
            name: t[k].detach().clone() for name, t in {**self.params, **self.buffers}.items()
        }

    def load_into(self, models: Sequence[nn.Module]) -> None:
        """Copy each copy's trained (or frozen) parameters and buffers back into its model."""
        stacked = {**self.params, **self.buffers}
        with torch.no_grad():
            for k, model in enumerate(models):
                tensors = self.frozen.get(k) or {name: t[k] for name, t in stacked.items()}
                for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
                    tensor.copy_(tensors[name])


def _slots(model: nn.Module, params: Params, buffers: Params) -> list[tuple[dict, str, int]]:
    """(table, key, i): every parameter and buffer slot of `model` and its stacked tensor's index.

    A tensor shared by two modules (tied weights) has two slots with the same index.
    """
    own = [model.get_parameter(name) for name in params]
    own += [model.get_buffer(name) for name in buffers]
    index = {id(tensor): i for i, tensor in enumerate(own)}
    return [
        (table, key, index[id(tensor)])
        for module in model.modules()
        for table in (module._parameters, module._buffers)
        for key, tensor in table.items()
        if tensor is not None and id(tensor) in index
    ]


def _restore_tensor_attributes(attributes: list[tuple[nn.Module, dict]]) -> None:
    """Undo tensors that a vmapped call stored on modules (e.g. an attention map): outside
    vmap they are dead batched wrappers."""
    for module, before in attributes:
        for name, value in list(vars(module).items()):
            if isinstance(value, torch.Tensor) and before.get(name) is not value:
                if name in before:
                    setattr(module, name, before[name])
                else:
                    delattr(module, name)


def copy_losses(prediction: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """`prediction_loss` of each copy, (K,), from predictions with a leading K axis (y: shared,
    or with the same leading axes)."""
    k = prediction.shape[0]
    if loss == "mse":
        squared = F.mse_loss(prediction, y.expand_as(prediction), reduction="none")
        return squared.reshape(k, -1).mean(1)
    classes = prediction.shape[-1]
    labels = y.expand(prediction.shape[:-1]).reshape(-1).long()
    losses = F.cross_entropy(prediction.reshape(-1, classes), labels, reduction="none")
    return losses.view(k, -1).mean(1)
