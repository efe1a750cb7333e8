import torch
import torch.nn as nn

seq_len, batch, n_in, n_hid = 15, 4, 6, 10
lstm = nn.LSTM(n_in, n_hid, batch_first=False)  # output is (seq_len, batch, n_hid)
head = nn.Linear(n_hid, 1)
inputs = torch.randn(seq_len, batch, n_in)
target = torch.randn(batch, 1)

output, (h_n, c_n) = lstm(inputs)
output.retain_grad()
prediction = head(output[-1])
loss = nn.functional.mse_loss(prediction, target)
loss.backward()
for t in range(seq_len):
    print(t, output.grad[t].norm().item())  # zero for every t but the last
