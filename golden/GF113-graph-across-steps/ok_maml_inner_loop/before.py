import torch
from torch import nn
from torch.func import functional_call


def meta_train(model, tasks, meta_opt, inner_steps=3, inner_lr=0.05):
    """Second-order MAML: the adapted weights are carried through the inner steps with
    their graph (create_graph=True), and the query loss backpropagates through all of them."""
    for support, query in tasks:
        meta_opt.zero_grad()
        weights = dict(model.named_parameters())
        for _ in range(inner_steps):
            inner = nn.functional.mse_loss(functional_call(model, weights, (support[0],)), support[1])
            grads = torch.autograd.grad(inner, list(weights.values()), create_graph=True)
            weights = {name: w - inner_lr * g for (name, w), g in zip(weights.items(), grads)}
        outer = nn.functional.mse_loss(functional_call(model, weights, (query[0],)), query[1])
        outer.backward()
        meta_opt.step()


if __name__ == "__main__":
    net = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
    batch = (torch.randn(8, 1), torch.randn(8, 1))
    meta_train(net, [(batch, batch)] * 2, torch.optim.Adam(net.parameters(), lr=1e-3))
