import torch
import torch.nn as nn
import torch.nn.functional as F


def adapt(encoder, classifier, target_loader, optimizer, refresh_every=50, temperature=0.1):
    """Source-free adaptation: pull target features towards class centroids that are
    recomputed from the current encoder every `refresh_every` iterations."""
    encoder.train()
    for it, images in enumerate(target_loader):
        if it % refresh_every == 0:
            feats_all = encoder(images)
            probs = F.softmax(classifier(feats_all), dim=1)
            centroids = (probs.t() @ feats_all) / probs.sum(0, keepdim=True).t()
        feats = encoder(images)
        logits = F.normalize(feats, dim=1) @ F.normalize(centroids, dim=1).t() / temperature
        centroids = centroids.detach()
        loss = F.cross_entropy(logits, logits.argmax(1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


if __name__ == "__main__":
    encoder = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))
    classifier = nn.Linear(8, 4)
    loader = [torch.randn(10, 16) for _ in range(120)]
    adapt(encoder, classifier, loader, torch.optim.SGD(encoder.parameters(), lr=0.01))
