"""Broken training loops with optimizers (only optimizer-held parameters are judged)."""
import torch
import torch.nn as nn


def hidden_state_carried_across_batches():
    rnn = nn.RNN(2, 3, batch_first=True)
    opt = torch.optim.SGD(rnn.parameters(), lr=0.1)
    h = torch.zeros(1, 1, 3)
    for step in range(3):
        out, h = rnn(torch.randn(1, 4, 2), h)  # expect: freed-graph weight_ih_l0,weight_hh_l0
        loss = out.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def gan_generator_step_detached():
    gen, disc = nn.Linear(2, 3), nn.Linear(3, 1)
    opt_g = torch.optim.Adam(gen.parameters())
    opt_d = torch.optim.Adam(disc.parameters())
    for _ in range(2):
        fake = gen(torch.randn(4, 2))
        d_loss = disc(fake.detach()).mean()
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = -disc(fake.detach()).mean()  # expect: detach gen.weight,gen.bias
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()


def relu_inplace_after_sigmoid():
    net = nn.Sequential(nn.Linear(3, 3), nn.Sigmoid(),
                        nn.ReLU(inplace=True))  # expect: inplace 0.weight,0.bias
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(torch.randn(2, 3)).sum().backward()
    opt.step()


def numpy_round_trip():
    lin = nn.Linear(3, 2)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    out = lin(torch.randn(4, 3))
    arr = out.detach().numpy() * 2  # expect: detach weight,bias
    loss = torch.from_numpy(arr).pow(2).mean().requires_grad_()
    loss.backward()
    opt.step()


def float_sum_and_requires_grad_hack():
    reg = nn.Linear(3, 1)
    opt = torch.optim.SGD(reg.parameters(), lr=0.1)
    total = sum([float(v) for v in reg(torch.randn(4, 3))])  # expect: escape weight,bias
    loss = torch.tensor(total)
    loss.requires_grad = True
    loss.backward()
    opt.step()


for case in [hidden_state_carried_across_batches, gan_generator_step_detached, relu_inplace_after_sigmoid,
             numpy_round_trip, float_sum_and_requires_grad_hack]:
    try:
        case()
    except RuntimeError:
        pass
