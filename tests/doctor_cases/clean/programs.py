"""Correct training programs: doctor must report nothing (exit 0)."""
import copy

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune


def gan_with_detached_fake_in_d_step():
    gen, disc = nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3)
    bce = nn.BCELoss()
    real = torch.randn(8, 3)
    for _ in range(2):
        fake = gen(torch.randn(8, 2))
        opt_d.zero_grad()
        d_loss = bce(disc(real), torch.ones(8, 1)) + bce(disc(fake.detach()), torch.zeros(8, 1))
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(disc(fake), torch.ones(8, 1))
        g_loss.backward()
        opt_g.step()


def frozen_backbone():
    backbone, head = nn.Linear(4, 4), nn.Linear(4, 2)
    for p in backbone.parameters():
        p.requires_grad_(False)
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(head(torch.relu(backbone(torch.randn(5, 4)))), torch.tensor([0, 1, 0, 1, 1]))
    loss.backward()
    opt.step()


class LoRALinear(nn.Module):
    def __init__(self, base, rank=2):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        self.lora_a = nn.Parameter(torch.randn(rank, base.in_features) * 0.01)
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))

    def forward(self, x):
        return self.base(x) + x @ self.lora_a.t() @ self.lora_b.t()


def lora_one_step():
    layer = LoRALinear(nn.Linear(4, 3))
    opt = torch.optim.SGD([p for p in layer.parameters() if p.requires_grad], lr=0.1)
    layer(torch.randn(6, 4)).pow(2).mean().backward()
    opt.step()


def ema_teacher_under_no_grad():
    student = nn.Linear(3, 3)
    teacher = copy.deepcopy(student)
    opt = torch.optim.SGD(student.parameters(), lr=0.1)
    for _ in range(2):
        x = torch.randn(4, 3)
        with torch.no_grad():
            target = teacher(x)
        loss = (student(x) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for t, s in zip(teacher.parameters(), student.parameters()):
                t.mul_(0.9).add_(s, alpha=0.1)


def pruned_layer():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1))
    prune.l1_unstructured(net[0], name="weight", amount=0.5)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(torch.randn(3, 4)).sum().backward()
    assert net[0].weight.grad is None  # by design: the gradient is on weight_orig
    opt.step()


def embedding_rows_not_in_batch():
    emb = nn.Embedding(10, 3)
    head = nn.Linear(3, 1)
    opt = torch.optim.SGD(list(emb.parameters()) + list(head.parameters()), lr=0.1)
    head(emb(torch.tensor([1, 2]))).sum().backward()
    opt.step()


def metrics_and_logging():
    clf = nn.Linear(4, 3)
    opt = torch.optim.SGD(clf.parameters(), lr=0.1)
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    logits = clf(x)
    loss = nn.functional.cross_entropy(logits, y)
    accuracy = (logits.argmax(1) == y).float().mean().item()
    loss.backward()
    print("loss %.3f acc %.2f" % (loss.item(), accuracy))
    opt.step()


for program in [gan_with_detached_fake_in_d_step, frozen_backbone, lora_one_step, ema_teacher_under_no_grad,
                pruned_layer, embedding_rows_not_in_batch, metrics_and_logging]:
    program()
