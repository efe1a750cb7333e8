import torch
import torch.nn.functional as F
from torch import nn

model = nn.Linear(8, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def soft_target_kl(logits, target_probs):
    logp = F.log_softmax(logits, dim=-1)
    # 0 * log 0 is taken as 0; no gradient flows into the (data) targets
    terms = torch.where(target_probs > 0, target_probs * (torch.log(target_probs) - logp), 0.0)
    return terms.sum(-1).mean()


for batch, soft_labels in [(torch.randn(2, 8), torch.tensor([[0.0, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]]))]:
    loss = soft_target_kl(model(batch), soft_labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
