import torch


@torch.no_grad()
def rmse_per_sample(pred, target):
    mse = ((pred - target) ** 2).mean(-1)
    return torch.where(mse > 0, torch.sqrt(mse), torch.zeros_like(mse))


def update_target_network(online, target, tau=0.995):
    with torch.no_grad():
        for p_t, p_o in zip(target.parameters(), online.parameters()):
            scale = torch.where(p_o.abs() > 0, 1.0 / p_o.abs(), torch.ones_like(p_o))
            p_t.mul_(tau).add_((1 - tau) * p_o * scale.clamp(max=1.0))
