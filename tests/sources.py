"""Small sources the engine, CLI and discovery tests share (built here, not copied)."""

BAD = (
    "import torch\n"
    "\n"
    "a = torch.nn.Parameter(torch.rand(3))\n"
    "b = torch.tensor([a[0] * 2, a[1] ** 2])\n"
)
FIXED = BAD.replace("torch.tensor([", "torch.stack([")
BAD_LINE, BAD_COL = 4, 5
# A finding whose fix is unsafe: reported, left alone unless --unsafe-fixes.
UNSAFE_ONLY = "import torch\n\na = torch.nn.Parameter(torch.rand(3))\nc = torch.tensor(a)\n"
CLEAN = "import torch\n\nx = torch.tensor([1.0, 2.0])\ny = [1, 2]\n"
NO_TORCH = "def f(x):\n    return x + 1\n"
