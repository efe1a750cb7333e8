import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
loaders = {"train": [(torch.randn(4, 8), torch.randint(0, 2, (4,)))], "val": [(torch.randn(4, 8), torch.randint(0, 2, (4,)))]}

for epoch in range(3):
    for phase in ["train", "val"]:
        model.train(phase == "train")
        running = 0.0
        for inputs, labels in loaders[phase]:
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model(inputs)
                loss = criterion(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
            running += loss.item() * inputs.size(0)

    model.eval()
    with torch.no_grad():
        val_loss = sum(criterion(model(x), y).item() for x, y in loaders["val"])
    print(epoch, val_loss)


@torch.inference_mode()
def predict(batch):
    return model(batch).softmax(-1)
