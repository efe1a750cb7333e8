import torch

decay = torch.tensor(0.9, requires_grad=True)
state = torch.ones(5) * decay
for i in range(1, 5):
    state_new = state.clone()
    state_new[i] = state[i - 1] * decay
    state = state_new
print("FORWARD", repr(state.tolist()))
state.sum().backward()
print("GRAD decay", None if decay.grad is None else repr(decay.grad.tolist()))
