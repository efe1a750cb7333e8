import torch as T


def gradient_through_time(model, x):
    y, _ = model(x)
    y.retain_grad()
    y[:, -1, :].mean().backward()
    return [y.grad[:, t, :].norm().item() for t in range(x.shape[1])]


gru = T.nn.GRU(3, 5, batch_first=True)
print(gradient_through_time(gru, T.randn(2, 7, 3)))
