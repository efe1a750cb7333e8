import torch


def policy_gradient(policy, states, rewards, optimizer):
    logits = policy(states)
    probs = logits.softmax(-1)
    actions = torch.multinomial(probs, 1)
    chosen = logits.log_softmax(-1).gather(1, actions.long()).squeeze(1)
    best = probs.argmax(-1)
    bonus = (actions.squeeze(1) == best).float()
    loss = -(chosen * (rewards + 0.1 * bonus)).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
