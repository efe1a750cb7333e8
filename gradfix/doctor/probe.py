"""gradfix doctor's child-side probe: runs INSIDE the user's Python, loaded by the verifier's
bootstrap as a plugin (``install(torch, recorder, config)``).

It watches every torch operation through a ``TorchFunctionMode`` and keeps, for the few
operations that matter, where in the user's code they ran:

- *cuts*: an operation whose input carries a graph and whose output does not (a constructor,
  ``.item()``/``float()``/``.numpy()``/``.tolist()``, ``.detach()``, ``.data``, an op under a
  grad-disabled region, a non-differentiable op, non-reparameterised sampling), and
  zero-gradient ops (``round``, ``torch.normal``...). One record per source site, holding the
  input's ``grad_fn`` of its latest run (so reachability can be asked later) and a small index
  that its outputs carry (``_gf_taint``), so the loss says which cuts flowed into it;
- in-place writes on graph tensors (version, producing node) and ops that raised;
- every graph node's producing site (``grad_fn.metadata``), for freed-graph reports;
- where each parameter was created, used, and which optimizers hold it.

After each ``backward()`` / ``autograd.backward`` / ``autograd.grad`` it asks, for every
parameter left without a usable gradient, which recorded cut reaches it, and writes
``{"ev": "doctor", ...}`` lines into the verifier's trace. Standard library plus torch only.
"""

import ast
import linecache
import os
import re
import sys
import sysconfig
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_SITES = 4096  # distinct cut sites kept
MAX_TAINT = 24  # cut indices one tensor carries
MAX_WALK = 200000  # graph nodes one reachability walk visits
MAX_SCAN = 10000  # list elements a constructor's data is scanned for tensors

ESCAPES = {"item": ".item()", "tolist": ".tolist()", "numpy": ".numpy()", "__float__": "float()",
           "__int__": "int()", "__index__": "int()", "__complex__": "complex()"}
CONSTRUCTORS = {"tensor": "torch.tensor", "as_tensor": "torch.as_tensor", "asarray": "torch.asarray",
                "new_tensor": ".new_tensor()", "from_numpy": "torch.from_numpy"}
ZERO_GRAD = {"round", "round_", "floor", "ceil", "trunc", "fix", "sign", "sgn", "normal", "bernoulli",
             "poisson", "floor_divide"}
SAMPLERS = {"normal", "bernoulli", "poisson", "multinomial", "binomial"}
INPLACE_DUNDER = {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__",
                  "__ipow__", "__imatmul__", "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"}
GRAD_OFF_NAMES = {"no_grad", "inference_mode", "set_grad_enabled"}
REPARAM_DIRS = (os.sep + os.path.join("nn", "utils") + os.sep,)
NONFINITE_SUSPECTS = ("WhereBackward", "SqrtBackward", "RsqrtBackward", "LogBackward", "DivBackward",
                      "PowBackward", "NormBackward", "AcosBackward", "AsinBackward", "AtanhBackward",
                      "LinalgVectorNormBackward", "ExpBackward")
_INPLACE_MSG = re.compile(r"\[(?P<type>[\w.]+)(?: \[(?P<shape>[\d, ]*)\])?\], which is output (?P<out>\d+) of "
                          r"(?P<node>\w+), is at version (?P<now>\d+); expected version (?P<expected>\d+)")


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _dotted(node):
    """``torch.no_grad`` for an expression ``torch.no_grad()`` / ``torch.no_grad``."""
    if isinstance(node, ast.Call):
        node = node.func
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _disables_grad(expr):
    name = _dotted(expr)
    if name.rsplit(".", 1)[-1] not in GRAD_OFF_NAMES:
        return None
    if name.endswith("set_grad_enabled") and isinstance(expr, ast.Call) and expr.args:
        arg = expr.args[0]
        if isinstance(arg, ast.Constant) and arg.value:
            return None
    if name.endswith("inference_mode") and isinstance(expr, ast.Call) and expr.args:
        arg = expr.args[0]
        if isinstance(arg, ast.Constant) and not arg.value:
            return None
    return name


class _Regions:
    """Grad-disabling ``with`` blocks and decorated functions of one source file."""

    def __init__(self, source):
        self.withs = []  # (start, end, header line, text)
        self.functions = []  # (start, end, decorator line, text)
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            return
        for node in ast.walk(tree):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    name = _disables_grad(item.context_expr)
                    if name:
                        self.withs.append((node.lineno, node.end_lineno or node.lineno, node.lineno,
                                           "with %s()" % name))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    name = _disables_grad(dec)
                    if name:
                        self.functions.append((node.lineno, node.end_lineno or node.lineno, dec.lineno,
                                               "@%s%s" % (name, "()" if isinstance(dec, ast.Call) else "")))

    def find(self, line):
        best = None
        for start, end, header, text in self.withs:
            if start <= line <= end and (best is None or start >= best[0]):
                best = (start, header, text)
        if best is not None:
            return best[1], best[2]
        for start, end, header, text in self.functions:
            if start <= line <= end and (best is None or start >= best[0]):
                best = (start, header, text)
        return (best[1], best[2]) if best is not None else None


class Cut:
    """One source site where values left the graph (kept per site, latest run wins)."""

    __slots__ = ("idx", "kind", "op", "file", "line", "nodes", "leaves", "call", "count", "detail")

    def __init__(self, idx, kind, op, file, line, detail):
        self.idx, self.kind, self.op, self.file, self.line, self.detail = idx, kind, op, file, line, detail
        self.nodes, self.leaves, self.call, self.count = [], set(), 0, 0


class _NotebookShell:
    """What an exported notebook's ``get_ipython()`` lines need: magics are skipped, a cell magic
    (``%%time``) still runs its cell, shell lines (``!pip ...``) do nothing."""

    def run_line_magic(self, name, line, *args, **kwargs):
        return None

    def run_cell_magic(self, name, line, cell):
        if name in ("time", "timeit", "capture", "prun"):
            main = sys.modules.get("__main__")
            exec(compile(cell, "<cell>", "exec"), vars(main) if main is not None else {})
        return None

    def system(self, *args, **kwargs):
        return 0

    def getoutput(self, *args, **kwargs):
        return []

    def magic(self, *args, **kwargs):
        return None


class _Stop(SystemExit):
    """Ends the user's program after enough backward calls (exit status 0)."""


class Probe:
    def __init__(self, torch, rec, cfg):
        self.torch = torch
        self.rec = rec
        self.Tensor = torch.Tensor
        self.busy = False
        self.in_call = False
        self.calls = 0
        self.max_calls = int(cfg.get("doctor_max_calls", 20))
        internal = {HERE, os.path.dirname(os.path.abspath(type(rec).emit.__code__.co_filename))}
        internal.add(os.path.dirname(os.path.abspath(torch.__file__)))
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            try:
                internal.add(os.path.abspath(sysconfig.get_paths()[key]))
            except KeyError:
                pass
        self.internal = tuple(sorted(p + os.sep for p in internal))
        self.torch_dir = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
        self.code_user = {}
        self.regions = {}
        self.cuts = {}  # (kind, op, file, line) -> Cut
        self.cut_list = []
        self.escapes = {}  # id(python object) -> (object, taint)
        self.escape_order = []
        self.inplace = []  # recent in-place writes on graph tensors
        self.raised_ops = []  # (file, line, op, message, target key)
        self.uses = {}  # id(leaf) -> (weakref, file, line, op, multi)
        self.created = {}  # id(tensor) -> (weakref, file, line)
        self.module_sites = {}  # id(module) -> (weakref, file, line)
        self.optimized = {}  # id(param) -> (weakref to it, weakref to its optimizer)
        self.optimizers = 0
        self.nonleaf_optimized = []
        self.nonleaf_reads = {}
        self.problems = {}  # id(leaf) -> (weakref, record)
        self.ok = {}  # id(leaf) -> weakref
        self.grad_off_site = None
        self.call_sites = {}
        self.reach_memo = {}
        self.unregistered_done = set()
        self.data_prop = torch.Tensor.__dict__.get("data")
        self.next_rid = 0
        self.retained_done = set()
        self.replaced = {}  # id(old parameter) -> (weakref, file, line, attribute) where a module got a new one
        self.map_cuda = bool(cfg.get("doctor_map_cuda", True)) and not torch.cuda.is_available()
        self.mapped_cuda = 0
        self.frozen = {}  # id(tensor) -> (weakref, file, line) where requires_grad was turned off
        self.scalar_sites = {}  # (kind, file, line) -> calls done when torch warned of a scalar conversion
        self.fed = set()  # indices of cuts whose outputs were used by an out-of-place op
        self.names_cache = None

    # -- output -----------------------------------------------------------------------------
    def emit(self, **event):
        if event.get("type") == "problem":
            self.next_rid += 1
            event["rid"] = self.next_rid
        event["ev"] = "doctor"
        self.rec.emit(event)

    # -- where in the user's code -------------------------------------------------------------
    def _is_user(self, code):
        known = self.code_user.get(code)
        if known is None:
            name = code.co_filename
            if not name or name.startswith("<"):
                known = False
            else:
                path = os.path.abspath(name)
                known = not path.startswith(self.internal) and "site-packages" not in path \
                    and "dist-packages" not in path
            self.code_user[code] = known
        return known

    def user_frame(self, frame=None):
        frame = frame or sys._getframe(1)
        while frame is not None:
            if self._is_user(frame.f_code):
                return frame
            frame = frame.f_back
        return None

    def site(self, frame=None):
        frame = self.user_frame(frame or sys._getframe(1))
        if frame is None:
            return None, 0
        return frame.f_code.co_filename, frame.f_lineno

    def _library_frames(self, start):
        """The frames between ``start`` and the innermost user frame (torch's own)."""
        frame = start
        while frame is not None and not self._is_user(frame.f_code):
            yield frame
            frame = frame.f_back

    def _region(self, frame):
        """The grad-disabling ``with`` / decorator around the innermost user frames."""
        frame = self.user_frame(frame)
        while frame is not None:
            if self._is_user(frame.f_code):
                name = frame.f_code.co_filename
                regions = self.regions.get(name)
                if regions is None:
                    regions = _Regions("".join(linecache.getlines(name, frame.f_globals)))
                    self.regions[name] = regions
                found = regions.find(frame.f_lineno)
                if found is not None:
                    header, text = found
                    line = header if text.startswith("@") else frame.f_lineno
                    return name, line, header, text
            frame = frame.f_back
        return None

    # -- the mode ---------------------------------------------------------------------------------
    def _scan(self, value, graph, taints, depth, budget):
        Tensor = self.Tensor
        if isinstance(value, Tensor):
            if value.requires_grad:
                graph.append(value)
            t = value.__dict__.get("_gf_taint")
            if t:
                taints.append(t)
            return budget - 1
        if isinstance(value, (list, tuple)) and depth:
            for item in value:
                budget = self._scan(item, graph, taints, depth - 1, budget)
                if budget <= 0:
                    break
            return budget
        if self.escapes and not isinstance(value, (str, bytes)):
            hit = self.escapes.get(id(value))
            if hit is not None and hit[0] is value:
                taints.append(hit[1])
            else:
                base = getattr(value, "base", None) if type(value).__module__ == "numpy" else None
                if base is not None:
                    hit = self.escapes.get(id(base))
                    if hit is not None and hit[0] is base:
                        taints.append(hit[1])
        return budget - 1

    def _is_cuda(self, value):
        if isinstance(value, str):
            return value.startswith("cuda")
        return isinstance(value, self.torch.device) and value.type == "cuda"

    def _on_cpu(self, name, func, args, kwargs):
        """No CUDA here: run ``.cuda()`` / ``.to("cuda")`` / ``device="cuda"`` on the CPU, as a copy
        (so a leaf moved to the GPU still becomes a non-leaf, as it would there)."""
        torch = self.torch
        if name == "cuda" and args and isinstance(args[0], self.Tensor):
            self.mapped_cuda += 1
            return (lambda t, *a, **k: torch.Tensor.to(t, "cpu", copy=True)), args, {}
        moved = False
        if name == "to" and len(args) > 1:
            new = list(args)
            for i in range(1, len(new)):
                if self._is_cuda(new[i]):
                    new[i], moved = "cpu", True
            args = tuple(new)
        if kwargs and self._is_cuda(kwargs.get("device")):
            kwargs = dict(kwargs, device="cpu")
            moved = True
        if moved:
            self.mapped_cuda += 1
            if name == "to" and args and isinstance(args[0], self.Tensor):
                kwargs = dict(kwargs, copy=True)
        return func, args, kwargs

    def _before_op(self, name, args, kwargs):
        """The op's inputs that carry a graph, the cut indices they carry, and an in-place target's state."""
        graph, taints = [], []
        depth = 3 if name in CONSTRUCTORS else 1
        budget = MAX_SCAN
        for value in args:
            budget = self._scan(value, graph, taints, depth, budget)
        if kwargs:
            for value in kwargs.values():
                budget = self._scan(value, graph, taints, depth, budget)
        inplace = (name.endswith("_") and not name.startswith("_")) or name in INPLACE_DUNDER or "out" in kwargs \
            or kwargs.get("inplace") is True
        pre = None
        target = None
        if inplace:
            target = kwargs.get("out") if "out" in kwargs else (args[0] if args else kwargs.get("tensor", kwargs.get("input")))
        if isinstance(target, self.Tensor) and (graph or target.requires_grad):
            fn = target.grad_fn
            pre = (target, target._version, type(fn).__name__ if fn is not None else None,
                   fn.metadata.get("gf") if fn is not None else None)
        return graph, taints, pre

    def on_op(self, func, args, kwargs):
        if self.busy or self.rec.busy:
            return func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name == "__get__" or name == "__set__":
            owner = getattr(func, "__self__", None)
            prop = getattr(owner, "__name__", None) or ("data" if owner is self.data_prop else "")
            if name == "__set__" and prop == "requires_grad" and args:
                out = func(*args, **kwargs)
                if args[-1]:
                    self._created(args[0], sys._getframe(2))
                else:
                    self._frozen(args[0], sys._getframe(2))
                return out
            if prop != "data" or name == "__set__":
                return func(*args, **kwargs)
            name = "data"
        torch = self.torch
        if self.map_cuda:
            func, args, kwargs = self._on_cpu(name, func, args, kwargs)
        if name == "_set_grad_enabled":
            was = torch.is_grad_enabled()
            out = func(*args, **kwargs)
            now = torch.is_grad_enabled()
            if was and not now:
                self.grad_off_site = self.site(sys._getframe(2))
            elif now:
                self.grad_off_site = None
            return out
        try:
            graph, taints, pre = self._before_op(name, args, kwargs)
        except Exception:  # an argument the probe does not understand: run the op unobserved
            return func(*args, **kwargs)
        try:
            out = func(*args, **kwargs)
        except Exception as exc:
            if graph or pre is not None:
                self._raised(name, exc, pre, sys._getframe(1))
            raise
        if not graph and not taints:
            if kwargs.get("requires_grad") and isinstance(out, self.Tensor):
                self._created(out, sys._getframe(1))
            elif name == "requires_grad_" and args and isinstance(args[0], self.Tensor):
                flag = args[1] if len(args) > 1 else kwargs.get("requires_grad", True)
                if flag:
                    self._created(args[0], sys._getframe(1))
                else:
                    self._frozen(args[0], sys._getframe(1))
            return out
        self.busy = True
        try:
            self._after_op(name, args, kwargs, out, graph, taints, pre, sys._getframe(1), func)
        except Exception:  # the probe must never break the user's program
            pass
        finally:
            self.busy = False
        return out

    def _after_op(self, name, args, kwargs, out, graph, taints, pre, frame, func=None):
        Tensor = self.Tensor
        ufile, uline = self.site(frame)
        reparam = False
        if graph:
            for f in self._library_frames(frame):
                if any(d in f.f_code.co_filename for d in REPARAM_DIRS):
                    reparam = True
                    break
        outs = out if isinstance(out, (tuple, list)) else (out,)
        tensors_out = [o for o in outs if isinstance(o, Tensor)]
        cut = None
        if graph and not reparam:
            multi = len(tensors_out) > 1
            computed = any(o.grad_fn is not None for o in tensors_out)
            for t in graph if pre is None and computed else ():
                known = self.uses.get(id(t))
                if t.is_leaf and (known is None or known[0]() is not t):
                    self.uses[id(t)] = (weakref.ref(t), ufile, uline, name, multi)
            if pre is not None:
                self._record_inplace(name, pre, frame, ufile, uline)
            else:
                cut = self._classify(name, out, tensors_out, graph, frame, ufile, uline, func)
        taint = None
        if taints or cut is not None:
            merged = set()
            for t in taints:
                merged.update(t)
            if pre is None:
                self.fed.update(merged)  # these cuts' values went on into other computations
            else:  # written into the target: what came from the other inputs now lives there
                own = pre[0].__dict__.get("_gf_taint") or frozenset()
                others = merged - own
                if others:
                    self.fed.update(others)
                    pre[0].__dict__["_gf_taint"] = frozenset(own | others)
            if cut is not None:
                merged.add(cut.idx)
            if len(merged) > MAX_TAINT:
                merged = set(sorted(merged)[-MAX_TAINT:])
            taint = frozenset(merged)
        if pre is None:
            for o in tensors_out:
                if taint:
                    o.__dict__["_gf_taint"] = taint
                fn = o.grad_fn
                if fn is not None and ufile is not None and "gf" not in fn.metadata:
                    fn.metadata["gf"] = (name, ufile, uline, reparam, self.calls)
        if taint and not tensors_out and out is not None and not isinstance(out, (bool, str)):
            self._remember_escape(out, taint)

    def _remember_escape(self, obj, taint):
        self.escapes[id(obj)] = (obj, taint)
        self.escape_order.append(id(obj))
        if len(self.escape_order) > 512:
            old = self.escape_order.pop(0)
            if old not in self.escape_order:
                self.escapes.pop(old, None)

    def _classify(self, name, out, tensors_out, graph, frame, ufile, uline, func=None):
        kind, op, detail = None, name, None
        first = tensors_out[0] if tensors_out else None
        if name in ESCAPES and first is None:
            kind, op = "escape", ESCAPES[name]
        elif name in CONSTRUCTORS and first is not None:
            kind, op = "constructor", CONSTRUCTORS[name]
        elif first is not None and all(o.grad_fn is None for o in tensors_out) and \
                (not first.requires_grad or first.is_leaf):
            if not self.torch.is_grad_enabled():
                sample = self._sampler(frame)
                if sample:
                    kind, op = "sampling", sample
                else:
                    kind = "grad-disabled"
                    region = self._region(frame)
                    if region is not None:
                        rfile, rline, header, text = region
                        if rfile != ufile or abs(rline - uline) > 0:
                            ufile, uline = rfile, rline
                        detail = "%s at line %d" % (text, header)
                        op = text
                    elif self.grad_off_site and self.grad_off_site[0]:
                        ufile, uline = self.grad_off_site
                        detail = "grad mode turned off at line %d" % uline
                        op = "torch.set_grad_enabled(False)"
                    else:
                        op = "grad disabled around `%s`" % name
            elif name in ("detach", "detach_"):
                kind, op = "detach", ".detach()"
            elif name == "data":
                kind, op = "data", ".data"
            else:
                kind = "non-differentiable"
        elif first is not None and name in ZERO_GRAD and first.requires_grad:
            sample = self._sampler(frame)
            if sample or name in SAMPLERS:
                kind, op = "sampling", sample or "torch.%s" % name
            else:
                kind = "non-differentiable"
        if kind is None:
            return None
        if kind == "non-differentiable" and self._called_from_library(frame):
            return None  # argument checks inside torch (constraints, validation) are not the user's loss path
        if kind == "non-differentiable" and not op.startswith(("torch.", ".")):
            method = getattr(func, "__objclass__", None) is not None or not hasattr(self.torch, op)
            op = ".%s()" % op if method else "torch.%s" % op
        key = (kind, op, ufile, uline)
        cut = self.cuts.get(key)
        if cut is None:
            if len(self.cut_list) >= MAX_SITES:
                return None
            cut = Cut(len(self.cut_list), kind, op, ufile, uline, detail)
            self.cuts[key] = cut
            self.cut_list.append(cut)
        cut.nodes = []
        for t in graph:
            fn = t.grad_fn
            if fn is None:
                cut.leaves.add(id(t))
            elif len(cut.nodes) < 8:
                cut.nodes.append(fn)
        cut.call = self.calls
        cut.count += 1
        return cut

    def _called_from_library(self, frame):
        frame = frame.f_back
        while frame is not None:
            name = frame.f_code.co_filename
            if name.startswith(HERE) or name.endswith(("overrides.py", "_tensor.py")) and name.startswith(self.torch_dir):
                frame = frame.f_back
                continue
            return not self._is_user(frame.f_code)
        return False

    def _sampler(self, frame):
        for f in self._library_frames(frame):
            if "distributions" in f.f_code.co_filename and f.f_code.co_name in ("sample", "sample_n"):
                owner = f.f_locals.get("self")
                return "%s.sample()" % type(owner).__name__ if owner is not None else ".sample()"
        return None

    def _record_inplace(self, name, pre, frame, ufile, uline):
        target, version, node_name, producer = pre
        wfile, wline, via = ufile, uline, None
        for f in self._library_frames(frame):
            owner = f.f_locals.get("self")
            if isinstance(owner, self.torch.nn.Module) and getattr(owner, "inplace", False):
                known = self.module_sites.get(id(owner))
                if known is not None and known[0]() is owner:
                    wfile, wline = known[1], known[2]
                    via = "%s(inplace=True)" % type(owner).__name__
                break
        self.inplace.append({"op": name, "file": wfile, "line": wline, "via": via, "version": version,
                             "node": node_name, "producer": producer, "shape": list(target.shape),
                             "call": self.calls, "write_file": ufile, "write_line": uline})
        if len(self.inplace) > 256:
            del self.inplace[0]

    def _raised(self, name, exc, pre, frame):
        ufile, uline = self.site(frame)
        key = None
        if pre is not None:
            key = self.key_of(pre[0])
        self.raised_ops.append((ufile, uline, name, _one_line(exc), key, id(exc)))
        if pre is not None and "leaf Variable that requires grad is being used in an in-place" in str(exc):
            if key is None:
                key = self.variable_name(pre[0], frame)
            self.emit(type="problem", parameter=key or "a leaf tensor", state="error", cause="inplace-leaf",
                      op=name, file=ufile, line=uline, backward_call=None,
                      message="an in-place write (`%s`) on a leaf that requires grad raised: %s (update it under "
                              "torch.no_grad(), or write into a copy)" % (name, _one_line(exc)))
        if len(self.raised_ops) > 64:
            del self.raised_ops[0]

    def _frozen(self, t, frame):
        ufile, uline = self.site(frame)
        if ufile:
            self.frozen[id(t)] = (weakref.ref(t), ufile, uline)

    def _created(self, t, frame):
        known = self.created.get(id(t))
        if known is None or known[0]() is not t:
            ufile, uline = self.site(frame)
            if ufile:
                self.created[id(t)] = (weakref.ref(t), ufile, uline)

    # -- graph -------------------------------------------------------------------------------------
    def reach(self, nodes, leaves=()):
        """ids of the leaves reachable from ``nodes``."""
        found = set(leaves)
        seen = set()
        stack = [n for n in nodes if n is not None]
        while stack and len(seen) < MAX_WALK:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            variable = getattr(node, "variable", None)
            if variable is not None:
                found.add(id(variable))
            for fn, _ in node.next_functions:
                if fn is not None and id(fn) not in seen:
                    stack.append(fn)
        return found

    def cut_reach(self, cut):
        memo = self.reach_memo.get(cut.idx)
        if memo is None:
            memo = self.reach(cut.nodes, cut.leaves)
            self.reach_memo[cut.idx] = memo
        return memo

    # -- names ---------------------------------------------------------------------------------------
    def _frames(self):
        frames = []
        frame = sys._getframe(1)
        while frame is not None:
            if self._is_user(frame.f_code):
                frames.append(frame)
            frame = frame.f_back
        return list(reversed(frames))  # outermost first

    def names(self, extra_frames=()):
        """id(leaf) -> (owner, qualified name, tensor); and the root modules [(owner, module)]."""
        torch = self.torch
        Module, Tensor = torch.nn.Module, self.Tensor
        modules, tensors = [], []
        seen = set()
        frames = list(extra_frames) + self._frames()
        main = sys.modules.get("__main__")
        scopes = []
        if main is not None:
            scopes.append(vars(main))
        for frame in frames:
            scopes.append(frame.f_globals if frame.f_code.co_name == "<module>" else frame.f_locals)
        for scope in scopes:
            for var, value in list(scope.items()):
                if var.startswith("__") or id(value) in seen:
                    continue
                seen.add(id(value))
                if isinstance(value, Module):
                    modules.append((var, value))
                elif isinstance(value, Tensor):
                    if value.requires_grad and value.is_leaf:
                        tensors.append((var, value))
                elif isinstance(value, (list, tuple)) and len(value) <= 256:
                    for i, item in enumerate(value):
                        if isinstance(item, Module) and id(item) not in seen:
                            seen.add(id(item))
                            modules.append(("%s[%d]" % (var, i), item))
                        elif isinstance(item, Tensor) and item.requires_grad and item.is_leaf and id(item) not in seen:
                            seen.add(id(item))
                            tensors.append(("%s[%d]" % (var, i), item))
                elif isinstance(value, dict) and len(value) <= 256:
                    for k, item in list(value.items()):
                        if isinstance(item, Tensor) and item.requires_grad and item.is_leaf and id(item) not in seen:
                            seen.add(id(item))
                            tensors.append(("%s[%r]" % (var, k), item))
                elif hasattr(value, "__dict__") and not isinstance(value, type) and \
                        type(value).__module__ not in ("builtins", "types") and not callable(value):
                    try:
                        attrs = list(vars(value).items())
                    except TypeError:
                        continue
                    for attr, item in attrs[:256]:
                        if isinstance(item, Module) and id(item) not in seen:
                            seen.add(id(item))
                            modules.append(("%s.%s" % (var, attr), item))
        subs = set()
        for _, m in modules:
            for sub in m.modules():
                if sub is not m:
                    subs.add(id(sub))
        roots = [(var, m) for var, m in modules if id(m) not in subs]
        named = {}
        for var, m in roots:
            for qn, p in m.named_parameters(remove_duplicate=False):
                named.setdefault(id(p), (var, qn, p))
        for var, t in tensors:
            named.setdefault(id(t), (var, "", t))
        return named, roots

    def key_of(self, t):
        named = self.names_cache
        if named is not None and id(t) in named and named[id(t)][2] is t:
            owner, qn, _ = named[id(t)]
            return "%s.%s" % (owner, qn) if qn else owner
        return None

    def unregistered(self, roots):
        """Tensors that require grad kept where ``parameters()`` does not look (lists, dicts, plain attributes)."""
        torch = self.torch
        Module, Tensor = torch.nn.Module, self.Tensor
        found = []
        for var, root in roots:
            for prefix, m in root.named_modules():
                try:
                    attrs = list(vars(m).items())
                except TypeError:
                    continue
                for attr, value in attrs:
                    if attr.startswith("_"):
                        continue
                    base = "%s.%s" % (prefix, attr) if prefix else attr
                    items = []
                    if isinstance(value, Tensor):
                        items = [(base, value)]
                    elif isinstance(value, (list, tuple)):
                        items = [("%s.%d" % (base, i), v) for i, v in enumerate(value)]
                    elif isinstance(value, dict):
                        items = [("%s.%s" % (base, k), v) for k, v in value.items()]
                    for name, item in items:
                        if isinstance(item, Module):
                            for qn, p in item.named_parameters():
                                if p.requires_grad:
                                    found.append((var, "%s.%s" % (name, qn), p, item))
                        elif isinstance(item, Tensor) and item.requires_grad and item.is_leaf:
                            found.append((var, name, item, None))
        return found

    # -- calls ---------------------------------------------------------------------------------------
    def state(self, grad):
        return self.rec.state(grad)

    def wrap_call(self, kind, orig, args, kwargs):
        if self.in_call or self.busy:
            return orig(*args, **kwargs)
        site = self.site(sys._getframe(2))
        if kind == "grad":  # inputs given as a generator (model.parameters()): keep a list to judge them
            if len(args) > 1 and not isinstance(args[1], (self.Tensor, list, tuple)):
                args = (args[0], tuple(args[1])) + tuple(args[2:])
            elif "inputs" in kwargs and not isinstance(kwargs["inputs"], (self.Tensor, list, tuple)):
                kwargs = dict(kwargs, inputs=tuple(kwargs["inputs"]))
        self.in_call = True
        result, raised = None, None
        try:
            result = orig(*args, **kwargs)
        except BaseException as exc:
            raised = exc
        finally:
            self.in_call = False
        self.calls += 1
        self.call_sites[self.calls] = site
        self.busy = True
        try:
            self.after_call(kind, args, kwargs, result, raised, site)
        except Exception as exc:
            self.emit(type="internal", message="%s: %s" % (type(exc).__name__, _one_line(exc)))
        finally:
            self.busy = False
            self.reach_memo = {}
        if raised is not None:
            raise raised
        if self.calls >= self.max_calls:
            self.emit(type="stopped", calls=self.calls)
            raise _Stop(0)
        return result

    def _roots(self, kind, args, kwargs):
        first = args[0] if args else kwargs.get("tensors" if kind == "backward" else "outputs")
        roots = list(first) if isinstance(first, (list, tuple)) else [first]
        return [r for r in roots if isinstance(r, self.Tensor)]

    def _inputs(self, kind, args, kwargs):
        if kind == "grad":
            value = args[1] if len(args) > 1 else kwargs.get("inputs")
        else:
            value = kwargs.get("inputs")
        if value is None:
            return None
        value = list(value) if isinstance(value, (list, tuple)) else [value]
        return [v for v in value if isinstance(v, self.Tensor)]

    def after_call(self, kind, args, kwargs, result, raised, site):
        n = self.calls
        roots = self._roots(kind, args, kwargs)
        named, roots_modules = self.names()
        self.names_cache = named
        inputs = self._inputs(kind, args, kwargs)
        root_nodes = [r.grad_fn for r in roots if r.grad_fn is not None]
        root_leaves = [id(r) for r in roots if r.grad_fn is None and r.requires_grad]
        reach_root = self.reach(root_nodes, root_leaves)
        taint = set()
        for r in roots:
            taint.update(r.__dict__.get("_gf_taint") or ())
        live_optimizers = self.live_optimizers()
        # the leaves to judge
        if kind == "grad" and inputs is not None:
            if raised is None:
                grads = result if isinstance(result, (tuple, list)) else (result,)
                states = [(t, self.state(g)) for t, g in zip(inputs, grads)]
            else:
                states = [(t, "error") for t in inputs]
            judged = [(t, st) for t, st in states]
        else:
            judged = []
            for tid, (owner, qn, t) in named.items():
                if not t.requires_grad or not t.is_leaf:
                    continue
                if live_optimizers and not self.in_optimizer(t):
                    continue  # not trained: an EMA copy, a teacher, a frozen part
                judged.append((t, "error" if raised is not None else self.state(t.grad)))
            if live_optimizers:
                extra = []
                for tid, (ref, opt_ref) in list(self.optimized.items()):
                    t = ref()
                    if t is not None and opt_ref() is not None and tid not in named and t.requires_grad and t.is_leaf:
                        extra.append((t, "error" if raised is not None else self.state(t.grad)))
                if any(st != "ok" for _, st in extra):
                    import gc

                    gc.collect()  # an optimizer the program dropped may live on in a reference cycle
                    extra = [(t, st) for t, st in extra if self.in_optimizer(t)]
                judged.extend(extra)
            if inputs is not None:
                wanted = {id(t) for t in inputs}
                judged = [(t, st) for t, st in judged if id(t) in wanted]
        error = None
        self._emitted_error = False
        if raised is not None:
            error = self.explain_raise(raised, roots, root_nodes, n)
        for t, st in judged:
            tid = id(t)
            if st == "ok":
                self.ok[tid] = weakref.ref(t)
                known = self.problems.pop(tid, None)
                if known is not None and known[0]() is t:
                    self.emit(type="ok", rid=known[1]["rid"], call=n)
                continue
            graph_error = st == "error" and error is not None and error.get("cause") not in ("no-graph", "unused-input")
            replaces = None
            if not graph_error:
                if tid in self.ok and self.ok[tid]() is t:
                    continue
                known = self.problems.get(tid)
                if known is not None and known[0]() is t:
                    replaces = known[1]  # still bad: the latest backward's view wins (a GAN's G step, not its D step)
            if graph_error:
                if tid not in reach_root:
                    continue  # not on the failing graph: the error says nothing about it
                record = dict(error)
            else:
                record = self.diagnose(t, st, reach_root, taint, root_nodes, n)
                if record is None:
                    continue
                if replaces is not None:
                    same = all(record.get(k) == replaces.get(k) for k in ("cause", "file", "line"))
                    if same or record.get("strength", 0) < replaces.get("strength", 0):
                        continue
                    record["replaces"] = replaces["rid"]
                if st == "error":
                    record["message"] = "backward raised (%s); %s" % (error["raised"] if error else "", record["message"])
            record.update(parameter=self._display(t, named), state=st, backward_call=n, pid=tid,
                          call_file=site[0], call_line=site[1])
            if tid in named:
                record["owner"], record["qualname"] = named[tid][0], named[tid][1]
            if st == "error":
                self._emitted_error = True
            self.emit(type="problem", **record)
            if not graph_error:
                record["rid"] = self.next_rid
                self.problems[tid] = (weakref.ref(t), record)
        if error is not None and not self._emitted_error and error.get("cause") == "no-graph":
            for tid, (owner, qn, t) in named.items():
                known = self.frozen.get(tid)
                if known is not None and known[0]() is t and not t.requires_grad:
                    self._emitted_error = True
                    self.emit(type="problem", parameter="%s.%s" % (owner, qn) if qn else owner, owner=owner,
                              qualname=qn, state="error", cause="frozen", op="requires_grad = False",
                              file=known[1], line=known[2], backward_call=n, call_file=site[0], call_line=site[1],
                              message="backward raised (%s): nothing in the loss requires grad; requires_grad was "
                                      "turned off here" % error["raised"])
        if error is not None and not self._emitted_error and error.get("cause") == "no-graph":
            typo = self._require_grad_typo()
            if typo is not None:
                self._emitted_error = True
                var, attr, file, line = typo
                self.emit(type="problem", parameter=var, state="error", cause="typo", op=attr, file=file,
                          line=line, backward_call=n, call_file=site[0], call_line=site[1],
                          message="`%s.%s = ...` sets a new attribute; the flag is `requires_grad`, so nothing "
                                  "in the loss requires grad" % (var, attr))
        if error is not None and not self._emitted_error:
            record = dict(error)
            record.update(parameter=None, state="error", backward_call=n, pid=None,
                          call_file=site[0], call_line=site[1])
            self.emit(type="problem", **record)
        self.check_unregistered(roots_modules, named, n)
        if raised is None and kind == "backward":
            self.check_retained(n, site)

    def variable_name(self, value, frame):
        frame = self.user_frame(frame)
        while frame is not None:
            if self._is_user(frame.f_code):
                for scope in (frame.f_locals, frame.f_globals):
                    for k, v in list(scope.items()):
                        if v is value:
                            return k
            frame = frame.f_back
        return None

    def scalar_warning(self, message, filename, lineno):
        """torch converted a graph tensor to a Python number in C (``torch.FloatTensor([a, b])``...)."""
        if not self._is_user_file(filename):
            return
        key = ("scalar", filename, lineno)
        if key not in self.scalar_sites:
            self.scalar_sites[key] = self.calls

    def _is_user_file(self, filename):
        if not filename or filename.startswith("<"):
            return False
        path = os.path.abspath(filename)
        return not path.startswith(self.internal) and "site-packages" not in path

    def check_retained(self, n, site):
        """A retained non-leaf gradient that is zero in some output slots and not others: the loss
        reads only part of the output (seed 001's GRU question)."""
        torch = self.torch
        for frame in self._frames():
            scope = frame.f_globals if frame.f_code.co_name == "<module>" else frame.f_locals
            for var, value in list(scope.items()):
                if not isinstance(value, self.Tensor) or value.is_leaf or not value.retains_grad:
                    continue
                if id(value) in self.retained_done or value.grad is None or value.dim() < 2:
                    continue
                self.retained_done.add(id(value))
                with torch.no_grad():
                    g = value.grad.detach().abs()
                    for d in range(g.dim()):
                        per_slot = g.sum(dim=[i for i in range(g.dim()) if i != d])
                        zero = per_slot == 0
                        if bool(zero.any()) and not bool(zero.all()):
                            self.emit(type="problem", parameter=var, state="zero", cause="output-slots",
                                      op="backward of a slice", file=site[0], line=site[1], backward_call=n,
                                      call_file=site[0], call_line=site[1],
                                      message="`%s.grad` is zero in %d of %d slots along dim %d: the loss reads "
                                              "only the others, so nothing flows back into these (by construction, "
                                              "not a bug in autograd); to see per-step gradients, retain_grad() on "
                                              "the per-step values" % (var, int(zero.sum()), zero.numel(), d))
                            break

    TYPOS = ("require_grad", "requires_gradient", "require_grads", "requires_grads", "requre_grad", "required_grad")

    def _require_grad_typo(self):
        for frame in self._frames():
            scope = frame.f_globals if frame.f_code.co_name == "<module>" else frame.f_locals
            for var, value in list(scope.items()):
                if isinstance(value, self.Tensor):
                    attr = next((a for a in self.TYPOS if a in value.__dict__), None)
                    if attr is None:
                        continue
                    name = frame.f_code.co_filename
                    for n, text in enumerate(linecache.getlines(name, frame.f_globals), 1):
                        if "." + attr in text and var in text:
                            return var, attr, name, n
                    return var, attr, name, None
        return None

    def in_optimizer(self, t):
        known = self.optimized.get(id(t))
        return known is not None and known[0]() is t and known[1]() is not None

    def live_optimizers(self):
        return any(opt() is not None for _, opt in self.optimized.values())

    def _display(self, t, named):
        if id(t) in named:
            owner, qn, _ = named[id(t)]
            return "%s.%s" % (owner, qn) if qn else owner
        old = self.replaced.get(id(t))
        if old is not None and old[0]() is t:
            return "%s (the replaced Parameter)" % old[3]
        created = self.created.get(id(t))
        if created is not None and created[0]() is t:
            return "tensor created at %s:%d" % (os.path.basename(created[1]), created[2])
        return "an unnamed leaf of shape %s" % (list(t.shape),)

    def check_unregistered(self, roots_modules, named, n):
        for owner, qn, t, module in self.unregistered(roots_modules):
            if id(t) in self.unregistered_done or self.in_optimizer(t):
                continue
            self.unregistered_done.add(id(t))
            site = None
            if module is not None:
                known = self.module_sites.get(id(module))
                if known is not None and known[0]() is module:
                    site = known[1:]
            if site is None:
                known = self.created.get(id(t))
                if known is not None and known[0]() is t:
                    site = known[1:]
            state = self.state(t.grad)
            self.emit(type="problem", parameter="%s.%s" % (owner, qn), owner=owner, qualname=qn,
                      state="none" if state == "ok" else state, cause="unregistered",
                      op="plain list/dict/attribute" if module is not None else "plain tensor attribute",
                      file=site[0] if site else None, line=site[1] if site else None,
                      message="not registered with the module: `%s.parameters()` does not list it, so no optimizer "
                              "built from it updates it%s" % (owner, " (it does get a gradient)" if state == "ok" else ""),
                      backward_call=n, pid=id(t))

    def diagnose(self, t, st, reach_root, taint, root_nodes, n):
        tid = id(t)
        reachable = tid in reach_root
        cuts = [c for c in self.cut_list if (c.call >= n - 1 or c.idx in taint)]
        hitting = [c for c in cuts if tid in self.cut_reach(c)]
        # a cut counts when its value went on somewhere: into the loss, another op, or out of torch
        hitting = [c for c in hitting if c.idx in taint or c.kind == "escape" or c.idx in self.fed]
        if not reachable:
            if hitting:
                return self._from_cut(self._best(hitting, taint), hitting, taint)
            old = self.replaced.get(tid)
            if old is not None and old[0]() is t and old[1]:
                return {"cause": "replaced", "op": "nn.Parameter reassigned", "file": old[1], "line": old[2],
                        "message": "the module's `%s` was replaced by a new Parameter here; the optimizer still "
                                   "holds the old one, which the loss no longer uses" % old[3], "strength": 1}
            converted = [k for k, c in self.scalar_sites.items() if c >= n - 1]
            if converted:
                _, file, line = converted[-1]
                return {"cause": "constructor", "op": "tensor constructor", "file": file, "line": line,
                        "message": "torch converted tensors that carry a graph to Python numbers here (a tensor "
                                   "constructor such as `torch.FloatTensor([...])`): the values were copied, not "
                                   "the graph", "strength": 1}
            use = self.uses.get(tid)
            if use is not None and use[0]() is t:
                return {"cause": "unused", "op": use[3], "file": use[1], "line": use[2],
                        "message": "registered but never used by the loss: it is used at line %d (`%s`), but nothing "
                                   "computed from it reaches the loss" % (use[2], use[3])}
            created = self.created.get(tid)
            return {"cause": "unused", "op": None, "file": created[1] if created and created[0]() is t else None,
                    "line": created[2] if created and created[0]() is t else None,
                    "message": "registered but never used by the loss (no operation read it)"}
        zero_cuts = [c for c in hitting if c.kind in ("sampling", "non-differentiable") and c.idx in taint]
        if st in ("zero", "none") and zero_cuts:
            return self._from_cut(self._best(zero_cuts, taint), zero_cuts, taint)
        if st == "zero" and self._zero_partner(t, reach_root):
            return None  # a zero-initialised factor (LoRA-style): its partner's gradient is zero by design
        use = self.uses.get(tid)
        use_site = (use[1], use[2], use[3]) if use is not None and use[0]() is t else (None, None, None)
        if st == "nonfinite":
            found = self._nonfinite_suspect(root_nodes, tid)
            if found is not None:
                op, file, line = found
                return {"cause": "nonfinite", "op": op, "file": file, "line": line,
                        "message": "non-finite gradient; `%s` on its path has an infinite or NaN derivative here "
                                   "(a `torch.where` branch that was not selected still counts)" % op}
            return {"cause": "nonfinite", "op": use_site[2], "file": use_site[0], "line": use_site[1],
                    "message": "non-finite gradient (set torch.autograd.set_detect_anomaly(True) to find the op)"}
        if use is not None and use[0]() is t and use[4]:
            return {"cause": "output-slots", "op": use_site[2], "file": use_site[0], "line": use_site[1],
                    "message": "used only through output slots the loss does not read: `%s` returns several "
                               "outputs and the loss reads none that depend on it" % use_site[2]}
        if st == "zero":
            return {"cause": "zero", "op": use_site[2], "file": use_site[0], "line": use_site[1],
                    "message": "reaches the loss, but its gradient is exactly zero (the loss does not vary with it)"}
        return {"cause": "none", "op": use_site[2], "file": use_site[0], "line": use_site[1],
                "message": "reaches the loss, but backward left its gradient None"}

    PRIORITY = {"detach": 0, "data": 1, "escape": 2, "constructor": 3, "grad-disabled": 4, "sampling": 5,
                "non-differentiable": 6}

    def _best(self, hitting, taint):
        tainted = [c for c in hitting if c.idx in taint]
        pool = tainted or hitting
        return min(pool, key=lambda c: (self.PRIORITY.get(c.kind, 9), -c.call, c.idx))

    def _from_cut(self, cut, hitting, taint):
        what = {
            "detach": "`.detach()` cuts the graph",
            "data": "`.data` reads the values without the graph",
            "escape": "`%s` turns the tensor into a Python/NumPy value, out of the graph" % cut.op,
            "constructor": "`%s` copies the values of tensors that carry a graph into a new tensor with none" % cut.op,
            "grad-disabled": "computed while gradients are disabled (%s)" % (cut.detail or cut.op),
            "sampling": "`%s` is not reparameterised: its gradient is zero or absent (use rsample() / "
                        "mu + std * eps)" % cut.op,
            "non-differentiable": "`%s` is not differentiable: its gradient is zero or absent" % cut.op,
        }[cut.kind]
        also = sorted({(c.file, c.line, c.op) for c in hitting if c is not cut and c.idx in taint})[:5]
        record = {"cause": cut.kind, "op": cut.op, "file": cut.file, "line": cut.line, "message": what,
                  "strength": 2 if cut.idx in taint else 1}
        if also:
            record["also"] = [list(a) for a in also]
        return record

    def _zero_partner(self, t, reach_root):
        torch = self.torch
        with torch.no_grad():
            for ref in [v[0] for v in self.optimized.values()] + [v[0] for v in self.uses.values()]:
                q = ref()
                if q is None or q is t or id(q) not in reach_root or q.numel() == 0:
                    continue
                try:
                    if not bool(q.detach().any()):
                        return True
                except Exception:
                    continue
        return False

    def _nonfinite_suspect(self, root_nodes, tid):
        seen, stack, best = set(), list(root_nodes), None
        order = []
        while stack and len(seen) < MAX_WALK:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            name = type(node).__name__
            if name.startswith(NONFINITE_SUSPECTS):
                order.append(node)
            stack.extend(fn for fn, _ in node.next_functions if fn is not None)
        for node in order:
            meta = node.metadata.get("gf")
            if meta is None or tid not in self.reach([node]):
                continue
            rank = 0 if type(node).__name__.startswith("WhereBackward") else 1
            if best is None or rank < best[0]:
                best = (rank, meta)
        if best is None:
            return None
        op, file, line = best[1][:3]
        return ("torch.%s" % op if hasattr(self.torch, op) else op), file, line

    # -- raising backward -------------------------------------------------------------------------------
    def explain_raise(self, exc, roots, root_nodes, n):
        msg = _one_line(exc)
        full = str(exc)
        base = {"raised": msg}
        match = _INPLACE_MSG.search(full)
        if "modified by an inplace operation" in full:
            write = self._matching_write(match)
            if write is not None:
                producer = write["producer"]
                made = ""
                if producer:
                    made = " produced by `%s` at line %d" % (producer[0], producer[2])
                via = " (through %s)" % write["via"] if write["via"] else ""
                base.update(cause="inplace", op=write["op"], file=write["file"], line=write["line"],
                            producer_file=producer[1] if producer else None,
                            producer_line=producer[2] if producer else None,
                            message="backward raised: a tensor%s, saved for backward, is modified in place by `%s` "
                                    "at line %d%s" % (made, write["op"], write["line"], via))
                return base
            base.update(cause="inplace", op=None, file=None, line=None,
                        message="backward raised: a tensor saved for backward was modified in place (%s)" % msg)
            return base
        if "backward through the graph a second time" in full or "have already been freed" in full:
            node = self._freed_node(root_nodes, n)
            freed_by = self.call_sites.get(n - 1) if n > 1 else None
            by = " freed by the backward call at line %d" % freed_by[1] if freed_by and freed_by[0] else ""
            if node is not None:
                op, file, line = node[:3]
                base.update(cause="freed-graph", op=op, file=file, line=line,
                            message="backward raised: the graph through `%s` at line %d was%s and is used again: "
                                    "recompute it for each step, or detach it where it is kept" % (op, line, by or " freed"))
            else:
                base.update(cause="freed-graph", op=None, file=None, line=None,
                            message="backward raised: a graph%s is used again (%s)" % (by, msg))
            return base
        if "does not require grad and does not have a grad_fn" in full:
            base.update(cause="no-graph", op=None, file=None, line=None, message="the loss has no graph")
            return base
        if "appears to not have been used in the graph" in full:
            base.update(cause="unused-input", op=None, file=None, line=None, message=msg)
            return base
        base.update(cause="backward-error", op=None, file=None, line=None, message="backward raised: %s" % msg)
        return base

    def _matching_write(self, match):
        writes = self.inplace
        if not writes:
            return None
        if match is not None:
            node = re.sub(r"\d+$", "", match.group("node"))
            expected = int(match.group("expected"))
            shape = [int(x) for x in (match.group("shape") or "").replace(",", " ").split()]
            for w in reversed(writes):
                if w["node"] and re.sub(r"\d+$", "", w["node"]) == node and w["version"] == expected:
                    return w
            for w in reversed(writes):
                if w["version"] == expected and w["shape"] == shape:
                    return w
            for w in reversed(writes):
                if w["shape"] == shape:
                    return w
        return writes[-1]

    def _freed_node(self, root_nodes, n):
        """The node closest to the roots that an earlier backward already ran through (its
        metadata: op, file, line, reparam, calls before it was made); else the first freed one."""
        seen = set()
        frontier = list(root_nodes)
        while frontier and len(seen) < MAX_WALK:
            nxt = []
            for node in frontier:
                if id(node) in seen:
                    continue
                seen.add(id(node))
                meta = node.metadata.get("gf")
                if meta is not None and meta[4] < n - 1:
                    return meta
                nxt.extend(fn for fn, _ in node.next_functions if fn is not None)
            frontier = nxt
        seen = set()
        frontier = list(root_nodes)
        while frontier and len(seen) < MAX_WALK:
            nxt = []
            for node in frontier:
                if id(node) in seen:
                    continue
                seen.add(id(node))
                if self._is_freed(node):
                    meta = node.metadata.get("gf")
                    if meta is not None:
                        return meta
                nxt.extend(fn for fn, _ in node.next_functions if fn is not None)
            frontier = nxt
        return None

    def _is_freed(self, node):
        for attr in dir(node):
            if attr.startswith("_saved_"):
                try:
                    getattr(node, attr)
                except RuntimeError as exc:
                    if "freed" in str(exc):
                        return True
                except Exception:
                    pass
        return False

    # -- the end -------------------------------------------------------------------------------------------
    def finish(self, status, exc):
        self.busy = True
        try:
            frames = []
            tb = getattr(exc, "__traceback__", None)
            while tb is not None:
                if self._is_user(tb.tb_frame.f_code):
                    frames.append(tb.tb_frame)
                tb = tb.tb_next
            named, roots = self.names(frames)
            self.names_cache = named
            self.check_unregistered(roots, named, None)
            if exc is not None and not isinstance(exc, _Stop):
                info = {"exc_type": type(exc).__name__, "message": _one_line(exc),
                        "in_backward": id(exc) in getattr(self.rec, "raise_ids", {})}
                where = frames[-1] if frames else None
                if where is not None:
                    info.update(file=where.f_code.co_filename, line=where.f_lineno)
                for ufile, uline, op, message, key, exc_id in reversed(self.raised_ops):
                    if exc_id == id(exc):
                        info.update(op=op, file=ufile, line=uline, target=key)
                        break
                self.emit(type="exception", **info)
            self.emit(type="end", calls=self.calls, optimizers=self.optimizers, mapped_cuda=self.mapped_cuda)
        finally:
            self.busy = False


def install(torch, rec, cfg):
    from torch.overrides import TorchFunctionMode

    probe = Probe(torch, rec, cfg)

    class _DoctorMode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return probe.on_op(func, args, kwargs or {})

    # outer wrappers around the recorder's (Tensor.backward calls torch.autograd.backward)
    inner_backward, inner_grad = torch.autograd.backward, torch.autograd.grad

    def backward(*args, **kwargs):
        return probe.wrap_call("backward", inner_backward, args, kwargs)

    def grad(*args, **kwargs):
        return probe.wrap_call("grad", inner_grad, args, kwargs)

    backward.__wrapped__ = inner_backward
    grad.__wrapped__ = inner_grad
    torch.autograd.backward = backward
    torch.autograd.grad = grad

    # legacy constructor: torch.Tensor([a, b]) does not pass through the mode
    tensor_new = torch.Tensor.__new__

    def new_tensor(cls, *args, **kwargs):
        out = tensor_new(cls, *args, **kwargs)
        if cls is torch.Tensor and args and isinstance(args[0], (list, tuple)) and not probe.busy:
            graph, taints = [], []
            probe._scan(args[0], graph, taints, 3, MAX_SCAN)
            if graph:
                probe.busy = True
                try:
                    frame = sys._getframe(1)
                    ufile, uline = probe.site(frame)
                    cut = probe._classify("tensor", out, [out], graph, frame, ufile, uline)
                    if cut is not None:
                        cut.op = "torch.Tensor"
                        out.__dict__["_gf_taint"] = frozenset([cut.idx])
                finally:
                    probe.busy = False
        return out

    torch.Tensor.__new__ = staticmethod(new_tensor)

    orig_from_numpy = torch.from_numpy

    def from_numpy(array):
        out = orig_from_numpy(array)
        if probe.escapes and not probe.busy:
            graph, taints = [], []
            probe._scan(array, graph, taints, 0, 1)
            if taints:
                merged = set()
                for t in taints:
                    merged.update(t)
                out.__dict__["_gf_taint"] = frozenset(merged)
        return out

    torch.from_numpy = from_numpy

    # where parameters and modules are created, and which optimizers hold them
    import torch.nn.modules.module as module_mod

    module_init = torch.nn.Module.__init__

    def init_module(self, *args, **kwargs):
        if not probe.busy:
            ufile, uline = probe.site(sys._getframe(1))
            known = probe.module_sites.get(id(self))
            if ufile and (known is None or known[0]() is not self):
                probe.module_sites[id(self)] = (weakref.ref(self), ufile, uline)
        return module_init(self, *args, **kwargs)

    torch.nn.Module.__init__ = init_module

    if probe.map_cuda:
        def module_cuda(self, device=None):
            probe.mapped_cuda += 1
            return self  # parameters stay where they are (on the GPU they would stay leaves too)

        torch.nn.Module.cuda = module_cuda

    def on_parameter(module, name, param):
        if param is not None and not probe.busy:
            probe._created(param, sys._getframe(1))
            old = module.__dict__.get("_parameters", {}).get(name)
            if old is not None and old is not param:
                ufile, uline = probe.site(sys._getframe(1))
                probe.replaced[id(old)] = (weakref.ref(old), ufile, uline, name)

    module_mod.register_module_parameter_registration_hook(on_parameter)

    parameter_new = torch.nn.Parameter.__new__

    def new_parameter(cls, *args, **kwargs):
        param = parameter_new(cls, *args, **kwargs)
        if not probe.busy:
            probe._created(param, sys._getframe(1))
        return param

    torch.nn.Parameter.__new__ = staticmethod(new_parameter)

    add_group = torch.optim.Optimizer.add_param_group

    def add_param_group(self, group):
        if not probe.busy:
            probe.busy = True
            try:
                params = group.get("params") if isinstance(group, dict) else None
                if isinstance(params, torch.Tensor):
                    params = [params]
                params = list(params or ())
                if isinstance(group, dict):
                    group["params"] = params
                for p in params:
                    if isinstance(p, torch.Tensor):
                        probe.optimized[id(p)] = (weakref.ref(p), weakref.ref(self))
                        if not p.is_leaf:
                            meta = p.grad_fn.metadata.get("gf") if p.grad_fn is not None else None
                            name = probe.site(sys._getframe(1))
                            probe.emit(type="problem", **{
                                "parameter": probe.variable_name(p, sys._getframe(1)) or "a non-leaf tensor",
                                "state": "none", "cause": "nonleaf",
                                "op": meta[0] if meta else None, "file": meta[1] if meta else name[0],
                                "line": meta[2] if meta else name[1], "backward_call": None, "pid": id(p),
                                "message": "the optimizer was given a non-leaf tensor (the result of `%s`), which "
                                           "never gets a .grad: make the leaf after the conversion"
                                           % (meta[0] if meta else "an operation")})
            finally:
                probe.busy = False
        return add_group(self, group)

    torch.optim.Optimizer.add_param_group = add_param_group

    optimizer_init = torch.optim.Optimizer.__init__

    def init_optimizer(self, *args, **kwargs):
        probe.optimizers += 1
        return optimizer_init(self, *args, **kwargs)

    torch.optim.Optimizer.__init__ = init_optimizer

    # .grad read on a non-leaf
    grad_prop = torch.Tensor.grad

    def get_grad(self):
        value = grad_prop.__get__(self)
        if value is None and not probe.busy and not probe.in_call and probe.calls and not self.is_leaf \
                and not self.retains_grad:
            probe.busy = True
            try:
                fn = self.grad_fn
                meta = fn.metadata.get("gf") if fn is not None else None
                if meta is not None and not meta[3] and (meta[1], meta[2]) not in probe.nonleaf_reads:
                    frame = probe.user_frame(sys._getframe(1))
                    var = None
                    if frame is not None:
                        for scope in (frame.f_locals, frame.f_globals):
                            for k, v in list(scope.items()):
                                if v is self:
                                    var = k
                                    break
                            if var:
                                break
                    probe.nonleaf_reads[(meta[1], meta[2])] = True
                    probe.emit(type="problem", **{
                        "parameter": var or "a non-leaf tensor", "state": "none", "cause": "nonleaf",
                        "op": meta[0], "file": meta[1], "line": meta[2], "backward_call": probe.calls,
                        "pid": id(self),
                        "message": "`.grad` is read on a non-leaf tensor (the result of `%s`, line %d), which "
                                   "autograd never fills: keep the leaf under its own name%s" % (
                                       meta[0], meta[2],
                                       " (read at line %d)" % frame.f_lineno if frame is not None else "")})
            finally:
                probe.busy = False
        return value

    torch.Tensor.grad = property(get_grad, grad_prop.__set__, grad_prop.__delete__, grad_prop.__doc__)

    finish = rec.finish

    def finish_all(status, exc=None, exit_code=0):
        try:
            probe.finish(status, exc)
        except Exception as err:
            probe.emit(type="internal", message="%s: %s" % (type(err).__name__, _one_line(err)))
        return finish(status, exc, exit_code)

    rec.finish = finish_all

    # torch warns when C code turns a tensor that requires grad into a Python number
    import warnings

    warnings.filterwarnings("always", message="Converting a tensor with requires_grad=True to a scalar")
    show = warnings.showwarning
    shown = set()

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if "Converting a tensor with requires_grad=True to a scalar" in str(message):
            probe.scalar_warning(str(message), filename, lineno)
            if (filename, lineno) in shown:
                return None
            shown.add((filename, lineno))
        return show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning

    # scripts exported from notebooks call get_ipython() for magics and shell lines
    import builtins

    if not hasattr(builtins, "get_ipython"):
        builtins.get_ipython = lambda: _NotebookShell()
    mode = _DoctorMode()
    mode.__enter__()
    return probe
