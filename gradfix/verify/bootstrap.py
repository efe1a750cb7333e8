"""The verifier's child-side half: runs INSIDE the user's Python, never inside gradfix.

Launched as ``python bootstrap.py CONFIG.json``. It seeds ``random``, numpy (when
importable) and torch, turns on deterministic algorithms, installs the recorder and the
import hook that serves rewritten files, then runs the target (a script, ``-m module`` or
``-m pytest ...``) the way the interpreter would. The trace is written as JSON lines.

This file must stay standalone: standard library plus torch, no gradfix imports (the
user's interpreter may not have gradfix installed). Trace format: see ``record.py``.
"""

import base64
import builtins
import hashlib
import importlib.util
import json
import linecache
import os
import re
import runpy
import sys
import sysconfig
import traceback
import types
import weakref

SEED = 0
THIS_FILE = os.path.abspath(__file__)
_ASSIGN_TARGET = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?::[^=]*)?=(?!=)")


def _one_line(exc):
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:300]


class _OverrideLoader:
    """Loads a module from a rewritten source while keeping the original file name."""

    def __init__(self, origin, source):
        self.origin = origin
        self.source = source

    def create_module(self, spec):
        return None

    def get_filename(self, fullname=None):
        return self.origin

    def get_source(self, fullname=None):
        return self.source

    def is_package(self, fullname=None):
        return os.path.basename(self.origin) == "__init__.py"

    def get_code(self, fullname=None):
        return compile(self.source, self.origin, "exec", dont_inherit=True)

    def exec_module(self, module):
        module.__file__ = self.origin
        module.__cached__ = None
        exec(self.get_code(), module.__dict__)


class _OverrideFinder:
    """A ``sys.meta_path`` finder: modules whose file was rewritten load the rewritten text."""

    def __init__(self, overrides):
        self.overrides = overrides  # realpath of original file -> rewritten source text

    def find_spec(self, name, path=None, target=None):
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        origin = spec.origin
        if origin and spec.has_location:
            source = self.overrides.get(os.path.realpath(origin))
            if source is not None:
                spec.loader = _OverrideLoader(origin, source)
                spec.cached = None
        return spec


def _serve_source_lines(filename, source):
    """Tracebacks and linecache show the rewritten text under the original name."""
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)


class Recorder:
    def __init__(self, torch, out, max_detail, value_limit):
        self.torch = torch
        self.out = out
        self.max_detail = max_detail
        self.value_limit = value_limit
        self.calls = 0
        self.busy = False
        self.depth = 0
        self.prefix_end = None  # calls completed when the first state mutation happened
        self.leaves = {}  # id(tensor) -> leaf record (dict)
        self.waiting = {}  # the same, for leaves that never had a usable grad yet
        self.pending = False  # a leaf was tracked since keys were last assigned
        self.next_lid = 0
        self.used_keys = set()
        self.buffers = set()
        self.nonleaf_reads = 0
        self.raise_ids = {}  # id(exception) -> call number where backward raised
        self.np = sys.modules.get("numpy")
        try:
            import torch as _t

            self.torch_dir = os.path.dirname(os.path.abspath(_t.__file__))
        except Exception:
            self.torch_dir = "\0"
        internal = {THIS_FILE, self.torch_dir}
        for key in ("stdlib", "platstdlib", "purelib", "platlib"):
            try:
                internal.add(os.path.abspath(sysconfig.get_paths()[key]))
            except KeyError:
                pass
        self.internal = tuple(sorted(internal))

    # -- output ------------------------------------------------------------------------
    def emit(self, event):
        self.out.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.out.flush()

    # -- tensors -------------------------------------------------------------------------
    def _raw(self, flat):
        torch = self.torch
        if flat.dtype is torch.bool:
            flat = flat.to(torch.uint8)
        as_bytes = flat.view(torch.uint8)
        if self.np is not None:
            return as_bytes.numpy().tobytes()
        return bytes(as_bytes.tolist())

    def summarize(self, t, values):
        torch = self.torch
        if not isinstance(t, torch.Tensor):
            return {"dtype": type(t).__name__, "shape": [], "hash": repr(t)[:64]}
        with torch.no_grad():
            t = t.detach()
            info = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape)}
            try:
                if t.layout != torch.strided:
                    t = t.to_dense()
                flat = t.cpu().contiguous().reshape(-1)
                info["hash"] = hashlib.blake2b(self._raw(flat), digest_size=16).hexdigest()
                if values and flat.numel() <= self.value_limit and not flat.is_complex():
                    as64 = flat.to(torch.float64)
                    info["values"] = base64.b64encode(self._raw(as64)).decode("ascii")
            except Exception as exc:  # quantized, meta, exotic subclasses
                info["hash"] = "unhashable:" + type(exc).__name__
        return info

    def state(self, grad):
        if grad is None:
            return "none"
        torch = self.torch
        try:
            with torch.no_grad():
                g = grad.detach()
                if g.layout != torch.strided:
                    g = g.to_dense()
                if not bool(torch.isfinite(g).all()):
                    return "nonfinite"
                return "ok" if bool(g.any()) else "zero"
        except Exception:
            return "unknown"

    def rng(self):
        torch = self.torch
        out = {"torch": hashlib.blake2b(self._raw(torch.random.get_rng_state()), digest_size=8).hexdigest()}
        import random

        out["random"] = hashlib.blake2b(repr(random.getstate()).encode(), digest_size=8).hexdigest()
        np = sys.modules.get("numpy")
        if np is not None:
            try:
                keys = np.random.get_state()[1]
                out["numpy"] = hashlib.blake2b(keys.tobytes(), digest_size=8).hexdigest()
            except Exception:
                pass
        return out

    # -- leaves ----------------------------------------------------------------------------
    def _user_frame(self, frame):
        name = frame.f_code.co_filename
        if name.startswith("<"):
            return False
        name = os.path.abspath(name)
        return not name.startswith(self.internal) and "site-packages" not in name and "dist-packages" not in name

    def track(self, t, kind, hint=None):
        rec = self.leaves.get(id(t))
        if rec is not None and rec["ref"]() is t:
            if hint and not rec["hint"]:
                rec["hint"] = hint
            return rec
        rec = {"ref": weakref.ref(t), "lid": None, "key": None, "kind": kind, "hint": hint,
               "ok": False, "version": None, "order": len(self.leaves)}
        self.leaves[id(t)] = rec
        self.waiting[id(t)] = rec
        self.pending = True
        return rec

    def lookup(self, t):
        rec = self.leaves.get(id(t))
        if rec is not None and rec["ref"]() is t:
            return rec
        return None

    def on_parameter_created(self, param):
        hint = None
        frame = sys._getframe(2)
        if frame is not None and self._user_frame(frame):
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno, frame.f_globals)
            match = _ASSIGN_TARGET.match(line)
            if match and not match.group(1).startswith("self."):
                hint = match.group(1)
        self.track(param, "parameter", hint)

    def on_parameter_registered(self, module, name, param):
        if param is not None:
            self.track(param, "parameter", "%s.%s" % (type(module).__name__, name))

    def _frame_names(self):
        """Leaf names from the variables of the user's frames, outermost frame first."""
        torch = self.torch
        frames = []
        frame = sys._getframe(1)
        while frame is not None:
            if self._user_frame(frame):
                frames.append(frame)
            frame = frame.f_back
        names = {}
        for frame in reversed(frames):
            scope = frame.f_globals if frame.f_code.co_name == "<module>" else frame.f_locals
            for var, value in list(scope.items()):
                if var.startswith("__"):
                    continue
                if isinstance(value, torch.nn.Module):
                    for qn, p in value.named_parameters(remove_duplicate=False):
                        self.track(p, "parameter")
                        names.setdefault(id(p), "%s.%s" % (var, qn))
                    for qn, _ in value.named_buffers(remove_duplicate=False):
                        self.buffers.add("%s.%s" % (var, qn))
                elif isinstance(value, torch.Tensor) and value.requires_grad and value.is_leaf:
                    self.track(value, "parameter" if isinstance(value, torch.nn.Parameter) else "tensor")
                    names.setdefault(id(value), var)
        return names

    def _graph_leaves(self, roots):
        seen = set()
        stack = [r.grad_fn for r in roots if isinstance(r, self.torch.Tensor) and r.grad_fn is not None]
        for r in roots:
            if isinstance(r, self.torch.Tensor) and r.requires_grad and r.is_leaf:
                self.track(r, "tensor")
        while stack and len(seen) < 200000:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            variable = getattr(node, "variable", None)
            if variable is not None:
                self.track(variable, "parameter" if isinstance(variable, self.torch.nn.Parameter) else "tensor")
            stack.extend(fn for fn, _ in node.next_functions)

    def _assign_keys(self, names):
        if not self.pending:
            return
        self.pending = False
        for tid, rec in self.leaves.items():
            t = rec["ref"]()
            if rec["key"] is not None or t is None:
                continue
            base = names.get(tid) or rec["hint"] or "%s#%d" % (rec["kind"], rec["order"])
            key, n = base, 1
            while key in self.used_keys:
                n += 1
                key = "%s#%d" % (base, n)
            self.used_keys.add(key)
            rec["key"] = key
            rec["lid"] = self.next_lid
            self.next_lid += 1
            self.emit({"ev": "leaf", "lid": rec["lid"], "key": key, "kind": rec["kind"],
                       "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")})

    def _live(self, records=None):
        out = []
        for rec in list((records if records is not None else self.leaves).values()):
            t = rec["ref"]()
            if t is not None and rec["key"] is not None and t.requires_grad and t.is_leaf:
                out.append((rec, t))
        return out

    # -- mutations ---------------------------------------------------------------------------
    def mutation(self, what):
        if self.calls and self.prefix_end is None and not self.busy and not self.depth:
            self.prefix_end = self.calls
            self.emit({"ev": "mutation", "after": self.calls, "what": what, "rng": self.rng()})

    def _check_versions(self):
        for rec, t in self._live():
            if rec["version"] is not None and t._version != rec["version"]:
                self.mutation("in-place update of %s" % rec["key"])
                return

    def leaf_name(self, t):
        rec = self.lookup(t)
        return rec["key"] if rec is not None and rec["key"] else "a leaf tensor"

    # -- calls ---------------------------------------------------------------------------------
    def on_call(self, kind, roots, run):
        if self.busy or self.depth:
            return run()  # a nested call (inside a hook or a recorded call): part of the outer one
        self.calls += 1
        n = self.calls
        if self.prefix_end is None and n > 1:
            self._check_versions()
        self.busy = True
        try:
            detail = self.prefix_end is None and n <= self.max_detail
            event = {"ev": "call", "n": n, "kind": kind}
            if detail:
                self._graph_leaves(roots)
                self._assign_keys(self._frame_names())
                event["roots"] = [self.summarize(r, True) for r in roots]
                event["rng"] = self.rng()
            else:
                self._assign_keys({})
        finally:
            self.busy = False
        result, raised = None, None
        self.depth += 1
        try:
            result = run()
        except BaseException as exc:
            raised = exc
            self.raise_ids[id(exc)] = n
            event["raised"] = {"type": type(exc).__name__, "msg": _one_line(exc)}
        finally:
            self.depth -= 1
        self.busy = True
        try:
            self._after_call(event, detail, kind, result, raised)
        finally:
            self.busy = False
        if raised is not None:
            raise raised
        return result

    def _after_call(self, event, detail, kind, result, raised):
        results = None
        if kind == "grad" and raised is None:
            outs = result if isinstance(result, (tuple, list)) else (result,)
            results = [self.state(g) for g in outs]
        if detail:
            event["leaves"] = leaves = []
            for rec, t in self._live():
                grad = t.grad
                st = self.state(grad)
                if st == "ok":
                    rec["ok"] = True
                    self.waiting.pop(id(t), None)
                rec["version"] = t._version
                item = [rec["lid"], st]
                if grad is not None:
                    item.append(self.summarize(grad, grad.numel() <= 10000))
                leaves.append(item)
            if results is not None:
                event["results"] = results
            self.emit(event)
            return
        newly = []
        for rec, t in self._live(self.waiting):
            if self.state(t.grad) == "ok":
                rec["ok"] = True
                self.waiting.pop(id(t), None)
                newly.append(rec["lid"])
        if results is not None and all(s == "ok" for s in results):
            results = None
        if raised is not None or newly or results:
            event["lite"] = True
            event["newly_ok"] = newly
            if results:
                event["results"] = results
            self.emit(event)

    def finish(self, status, exc=None, exit_code=0):
        event = {"ev": "end", "calls": self.calls, "status": status, "exit_code": exit_code,
                 "prefix_end": self.prefix_end, "buffers": sorted(self.buffers),
                 "nonleaf_grad_reads": self.nonleaf_reads, "rng": self.rng()}
        if exc is not None:
            event["exc"] = {"type": type(exc).__name__, "msg": _one_line(exc), "after": self.calls,
                            "in_backward": self.raise_ids.get(id(exc))}
        self.emit(event)


def _install(torch, rec):
    import torch.autograd
    import torch.nn.modules.module as module_mod
    import torch.optim.optimizer as optim_mod

    orig_backward = torch.autograd.backward
    orig_grad = torch.autograd.grad

    def backward(tensors, *args, **kwargs):
        roots = list(tensors) if isinstance(tensors, (tuple, list)) else [tensors]
        return rec.on_call("backward", roots, lambda: orig_backward(tensors, *args, **kwargs))

    def grad(outputs, *args, **kwargs):
        roots = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
        return rec.on_call("grad", roots, lambda: orig_grad(outputs, *args, **kwargs))

    backward.__wrapped__ = orig_backward
    grad.__wrapped__ = orig_grad
    torch.autograd.backward = backward
    torch.autograd.grad = grad

    module_mod.register_module_parameter_registration_hook(rec.on_parameter_registered)
    optim_mod.register_optimizer_step_pre_hook(
        lambda opt, args, kwargs: rec.mutation("%s.step()" % type(opt).__name__))

    orig_add_group = torch.optim.Optimizer.add_param_group

    def add_param_group(self, group):
        params = group.get("params") if isinstance(group, dict) else None
        if isinstance(params, torch.Tensor):
            params = [params]
        for p in params or ():
            if isinstance(p, torch.Tensor):
                rec.track(p, "parameter" if isinstance(p, torch.nn.Parameter) else "tensor")
        return orig_add_group(self, group)

    torch.optim.Optimizer.add_param_group = add_param_group

    parameter_new = torch.nn.Parameter.__new__

    def new_parameter(cls, *args, **kwargs):
        param = parameter_new(cls, *args, **kwargs)
        if not rec.busy:
            rec.on_parameter_created(param)
        return param

    torch.nn.Parameter.__new__ = staticmethod(new_parameter)

    base = torch._C.TensorBase
    grad_desc, data_desc = base.__dict__["grad"], base.__dict__["data"]

    def get_grad(self):
        value = grad_desc.__get__(self)
        if value is None and rec.calls and not rec.busy and not self.is_leaf and not self.retains_grad:
            rec.nonleaf_reads += 1
        return value

    def get_data(self):
        if rec.calls and rec.prefix_end is None and not rec.busy and rec.lookup(self) is not None:
            rec.mutation(".data of %s" % rec.leaf_name(self))
        return data_desc.__get__(self)

    def set_data(self, value):
        if rec.calls and rec.prefix_end is None and not rec.busy and rec.lookup(self) is not None:
            rec.mutation(".data write on %s" % rec.leaf_name(self))
        data_desc.__set__(self, value)

    torch.Tensor.grad = property(get_grad, grad_desc.__set__, grad_desc.__delete__, grad_desc.__doc__)
    torch.Tensor.data = property(get_data, set_data, None, data_desc.__doc__)


def _load_plugins(torch, rec, cfg):
    """Extra child-side instrumentation named in the config (e.g. gradfix doctor's probe).

    A plugin is a standalone file with ``install(torch, recorder, config)``."""
    for n, path in enumerate(cfg.get("plugins", ())):
        spec = importlib.util.spec_from_file_location("_gradfix_plugin_%d" % n, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.install(torch, rec, cfg)


class BlockedWrite(PermissionError):
    """Raised in the program when it writes into the user's tree (the verifier's audit hook)."""


_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Audit events that change the file system: event -> indexes of the path arguments.
_PATH_EVENTS = {
    "os.mkdir": (0,), "os.remove": (0,), "os.rmdir": (0,), "os.truncate": (0,), "os.chmod": (0,),
    "os.chown": (0,), "os.utime": (0,), "os.mkfifo": (0,), "os.mknod": (0,), "os.rename": (0, 1),
    "os.link": (1,), "os.symlink": (1,), "shutil.rmtree": (0,), "shutil.copyfile": (1,),
    "shutil.copymode": (1,), "shutil.copystat": (1,), "shutil.copytree": (1,), "shutil.move": (1,),
    "shutil.unpack_archive": (1,),
}
MAX_BLOCKED_EVENTS = 20


class WriteGuard:
    """Blocks writes into the user's tree: ``protect`` folders, except the ``scratch`` folder.

    An audit hook sees every ``open`` for writing and every call that creates, removes,
    renames or changes a file; ``torch.save`` to a path (written by C++, unseen by the
    hook) is checked by a wrapper. Processes the program starts and native code that
    writes on its own are not covered.
    """

    def __init__(self, protect, scratch, out):
        self.protect = tuple(os.path.realpath(p) for p in protect)
        self.scratch = os.path.realpath(scratch) if scratch else None
        self.out = out
        self.blocked = []

    @staticmethod
    def _inside(path, folder):
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    def check(self, path, what):
        if isinstance(path, int) or path is None:
            return
        try:
            full = os.path.realpath(os.path.abspath(os.fsdecode(path)))
        except (TypeError, ValueError):
            return
        if self.scratch and self._inside(full, self.scratch):
            return
        if not any(self._inside(full, folder) for folder in self.protect):
            return
        if len(self.blocked) < MAX_BLOCKED_EVENTS:
            self.blocked.append(full)
            self.out.write(json.dumps({"ev": "blocked", "op": what, "path": full}) + "\n")
            self.out.flush()
        raise BlockedWrite(13, "gradfix verify blocks writes into the verified program's tree (%s)" % what, full)

    def audit(self, event, args):
        if event == "open":
            path, mode, flags = args
            if (mode is not None and any(c in mode for c in "wax+")) or (isinstance(flags, int) and flags & _WRITE_FLAGS):
                self.check(path, "open for writing")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args):
                    self.check(args[index], event)

    def install(self, torch):
        sys.addaudithook(self.audit)
        if torch is None:
            return
        save = torch.save

        def guarded_save(obj, f, *args, **kwargs):
            if isinstance(f, (str, bytes, os.PathLike)):
                self.check(f, "torch.save")
            return save(obj, f, *args, **kwargs)

        guarded_save.__wrapped__ = save
        torch.save = guarded_save


def _seed_everything(torch):
    import random

    random.seed(SEED)
    np = sys.modules.get("numpy")
    if np is None:
        try:
            import numpy as np
        except Exception:
            np = None
    if np is not None:
        np.random.seed(SEED)
    if torch is not None:
        torch.manual_seed(SEED)
        torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        except Exception:
            pass


def _run_script(path, source):
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = builtins
    main.__cached__ = None
    sys.modules["__main__"] = main
    if isinstance(source, str):
        _serve_source_lines(path, source)
    code = compile(source, path, "exec", dont_inherit=True)
    exec(code, main.__dict__)


def _print_user_traceback(error):
    """The traceback without this file's frames (the user never called them)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if os.path.abspath(f.filename) != THIS_FILE]
    sys.stderr.write("Traceback (most recent call last):\n")
    sys.stderr.write("".join(traceback.format_list(frames)))
    sys.stderr.write("".join(traceback.format_exception_only(type(error), error)))


def main():
    with open(sys.argv[1], encoding="utf-8") as handle:
        cfg = json.load(handle)
    out = open(cfg["trace"], "w", encoding="utf-8")
    overrides = {}
    for original, rewritten in cfg.get("overrides", {}).items():
        with open(rewritten, encoding="utf-8") as handle:
            overrides[os.path.realpath(original)] = handle.read()
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(THIS_FILE):
        sys.path[0] = cfg["sys_path0"]
    else:  # PYTHONSAFEPATH / -P: the interpreter did not add this file's folder
        sys.path.insert(0, cfg["sys_path0"])
    try:
        import torch
    except Exception as exc:
        torch = None
        out.write(json.dumps({"ev": "start", "torch": None, "error": "%s: %s" % (type(exc).__name__, _one_line(exc))}) + "\n")
    _seed_everything(torch)
    rec = None
    if torch is not None:
        rec = Recorder(torch, out, cfg.get("max_detail", 20), cfg.get("value_limit", 100000))
        rec.emit({"ev": "start", "torch": torch.__version__, "python": sys.version.split()[0]})
        _install(torch, rec)
        _load_plugins(torch, rec, cfg)
    for original, source in overrides.items():
        _serve_source_lines(original, source)
    sys.meta_path.insert(0, _OverrideFinder(overrides))
    guard = WriteGuard(cfg.get("protect", ()), cfg.get("scratch"), out)
    guard.install(torch)

    target = cfg["target"]
    sys.argv = list(target["argv"])
    status, exc, code = "ok", None, 0
    try:
        if target["kind"] == "script":
            path = target["path"]
            source = overrides.get(os.path.realpath(path))
            if source is None:
                with open(path, "rb") as handle:
                    source = handle.read()
            _run_script(path, source)
        else:
            runpy.run_module(target["module"], run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        status = "exit" if code else "ok"
    except BlockedWrite as error:  # the run stops there, like an exit; what came before counts
        status, code = "blocked", 1
        _print_user_traceback(error)
    except BaseException as error:
        status, exc, code = "exception", error, 1
        _print_user_traceback(error)
    if rec is not None:
        try:
            rec.finish(status, exc, code)
        except Exception:
            traceback.print_exc()
    else:
        out.write(json.dumps({"ev": "end", "calls": 0, "status": status, "exit_code": code,
                              "exc": None if exc is None else {"type": type(exc).__name__, "msg": _one_line(exc)}}) + "\n")
    out.close()
    sys.exit(code)


if __name__ == "__main__":
    main()
