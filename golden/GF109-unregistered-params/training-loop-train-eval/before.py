import torch
from torch import nn
import torch.nn.functional as F


class PolicyNet(nn.Module):
    def __init__(self, obs_dim, n_actions, hidden=(64, 64)):
        super().__init__()
        dims = [obs_dim, *hidden]
        self.trunk = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]
        self.logits = nn.Linear(dims[-1], n_actions)

    def forward(self, obs):
        for layer in self.trunk:
            obs = F.relu(layer(obs))
        return self.logits(obs)


def run(episodes, data):
    policy = PolicyNet(8, 4)
    optimizer = torch.optim.Adam(policy.parameters(), lr=3e-4)
    for _ in range(episodes):
        policy.train()
        for obs, actions, returns in data:
            logp = F.log_softmax(policy(obs), -1).gather(1, actions[:, None]).squeeze(1)
            loss = -(logp * returns).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        policy.eval()
        with torch.no_grad():
            print(policy(data[0][0]).argmax(-1))
    return policy
