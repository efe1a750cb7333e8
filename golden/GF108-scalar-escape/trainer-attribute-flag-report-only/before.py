import torch


class AdversarialTrainer:
    def __init__(self, discriminator, lr=2e-4):
        self.discriminator = discriminator
        self.optimizer = torch.optim.Adam(discriminator.parameters(), lr=lr)

    def discriminator_step(self, real_batch):
        realness = self.discriminator(real_batch).sigmoid().mean()
        self.d_real_loss = torch.tensor(1.0 - realness.item())
        if self.d_real_loss.requires_grad is False:
            self.d_real_loss.requires_grad = True
        self.optimizer.zero_grad()
        self.d_real_loss.backward()
        self.optimizer.step()
        return self.d_real_loss.item()
