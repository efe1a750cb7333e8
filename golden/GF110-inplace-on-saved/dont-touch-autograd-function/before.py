import torch


class MaskedSoftmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits, mask):
        probs = torch.softmax(logits, dim=-1)
        probs.masked_fill_(mask, 0)
        ctx.save_for_backward(probs)
        return probs

    @staticmethod
    def backward(ctx, grad):
        (probs,) = ctx.saved_tensors
        inner = (grad * probs).sum(-1, keepdim=True)
        result = grad - inner
        result *= probs
        return result, None
