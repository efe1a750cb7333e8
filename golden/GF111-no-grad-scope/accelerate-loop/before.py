import torch
from accelerate import Accelerator

accelerator = Accelerator(gradient_accumulation_steps=1)


def training_loop(model, dataloader, optimizer, scheduler):
    model, optimizer, dataloader = accelerator.prepare(model, optimizer, dataloader)
    model.train()
    for step, batch in enumerate(dataloader):
        with torch.no_grad():
            outputs = model(**batch)
        loss = outputs.loss
        accelerator.backward(loss)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        if step % 100 == 0:
            accelerator.print(f"step {step}: {loss.item():.4f}")
