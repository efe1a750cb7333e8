import torch
from torch import nn


def fit_sensor_model(series, epochs=3, hidden_size=16):
    """Stateful LSTM over consecutive windows of one long sensor recording."""
    lstm = nn.LSTM(input_size=series.size(-1), hidden_size=hidden_size)
    readout = nn.Linear(hidden_size, series.size(-1))
    params = list(lstm.parameters()) + list(readout.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    h = torch.zeros(1, 1, hidden_size)
    c = torch.zeros(1, 1, hidden_size)
    for epoch in range(epochs):
        for start in range(0, series.size(0) - 33, 32):
            window = series[start : start + 32].unsqueeze(1)
            target = series[start + 1 : start + 33].unsqueeze(1)
            out, (h, c) = lstm(window, (h, c))
            h, c = h.detach(), c.detach()
            loss = nn.functional.mse_loss(readout(out), target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return lstm, readout
