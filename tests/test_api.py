"""The top-level library API: every public name resolves, ``import clipcop`` stays light, and
``load_backbone`` gives the model ``extract`` runs, in eval mode and with the same features."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import clipcop
from clipcop.clips.datasets import EvalClipsDataset, VideoRef
from clipcop.config import ClipGeometry
from clipcop.engine.checkpoint import load_checkpoint, save_checkpoint
from clipcop.features.store import read_features


def test_every_public_name_resolves_and_is_declared_for_type_checkers() -> None:
    """Each name of ``__all__`` loads, and the ``TYPE_CHECKING`` imports declare exactly the lazy names."""
    for name in clipcop.__all__:
        assert getattr(clipcop, name) is not None, name
    assert set(dir(clipcop)) >= set(clipcop.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = clipcop.nothing_here
    tree = ast.parse(Path(clipcop.__file__).read_text())
    declared: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            declared |= {alias.name for imp in node.body if isinstance(imp, ast.ImportFrom) for alias in imp.names}
    assert declared == set(clipcop.__all__) - {"__version__"}
    assert clipcop.__all__ == ["__version__", *clipcop._LAZY]


def test_import_clipcop_loads_no_torch() -> None:
    code = "import sys, clipcop; print(sorted(m for m in ('torch', 'av', 'faiss', 'typer') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_load_backbone_gives_extract_s_features(vcop_checkpoint: Path, tiny_synth: Path, tmp_path: Path) -> None:
    """The backbone a user loads, fed clips as the docstring says, reproduces ``extract``'s feature rows."""
    source = clipcop.ModelSource(checkpoint=str(vcop_checkpoint))
    out = tmp_path / "test.safetensors"
    clipcop.extract(source=source, data=str(tiny_synth), subset="test", clips=2, device="cpu", workers=0, out=str(out))
    stored = read_features(out)
    backbone = clipcop.load_backbone(vcop_checkpoint)
    assert isinstance(backbone, torch.nn.Module) and not backbone.training
    assert [info.name for info in backbone.feature_info] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    card = load_checkpoint(vcop_checkpoint).card
    assert card.clip_len is not None and card.resize is not None and card.crop is not None
    geometry = ClipGeometry(resize=(int(card.resize[0]), int(card.resize[1])), crop=card.crop)
    root = Path(stored.meta["dataset"]["video_root"])
    paths = [root / video_id for video_id in stored.video_ids[:3]]
    videos = [VideoRef(path, clipcop.probe_video(path).num_frames) for path in paths]
    clips = EvalClipsDataset(videos, clip_len=card.clip_len, num_clips=2, geometry=geometry)
    with torch.no_grad():
        for k in range(len(videos)):
            item = clips[k]
            assert item["starts"].tolist() == stored.start[2 * k : 2 * k + 2].tolist()
            x = clipcop.normalize(item["clips"], pixels=card.choices().pixels)
            assert x.shape == (2, 3, card.clip_len, card.crop, card.crop)
            ours = backbone(x).numpy()
            assert np.abs(ours).sum() > 0
            np.testing.assert_allclose(ours, stored.features[2 * k : 2 * k + 2], rtol=1e-4, atol=1e-5)
            conv5 = backbone.forward_intermediates(x, ["conv5"])["conv5"]
            assert torch.allclose(conv5.mean(dim=(2, 3, 4)), backbone(x))


def test_load_backbone_refuses_non_finite_weights(vcop_checkpoint: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(vcop_checkpoint)
    tensors = dict(ckpt.tensors)
    name = next(key for key in tensors if key.startswith("backbone.") and tensors[key].is_floating_point())
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    broken = save_checkpoint(tmp_path / "broken.safetensors", tensors, ckpt.meta)
    with pytest.raises(clipcop.CheckpointError, match="non-finite weights"):
        clipcop.load_backbone(broken)
    from safetensors.torch import save_file

    state = {k: v.contiguous() for k, v in clipcop.build_backbone("mc3_18").state_dict().items()}
    state["stages.conv1.0.weight"] = torch.full_like(state["stages.conv1.0.weight"], float("inf"))
    save_file(state, str(tmp_path / "mc3.safetensors"))  # torchvision's networks read through the same check
    with pytest.raises(clipcop.CheckpointError, match=r"non-finite weights \(NaN or infinity\) in stages\.conv1\.0"):
        clipcop.load_backbone(arch="mc3_18", weights=str(tmp_path / "mc3.safetensors"))


def test_load_backbone_reads_torchvision_s_network_from_a_state_dict(tmp_path: Path) -> None:
    from safetensors.torch import save_file
    from torchvision.models import video

    torch.manual_seed(3)
    reference = video.mc3_18().eval()
    path = tmp_path / "mc3.safetensors"
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    backbone = clipcop.load_backbone(arch="mc3_18", weights=str(path))
    assert not backbone.training and backbone.arch == "mc3_18"
    clips = torch.rand(1, 3, 4, 32, 32)  # (B, C, T, H, W)
    with torch.no_grad():
        expected = reference.avgpool(reference.layer4(reference.layer3(reference.layer2(reference.layer1(
            reference.stem(clips)))))).flatten(1)  # fmt: skip
        assert torch.allclose(backbone(clips), expected, atol=1e-5)
    for wrong in ({}, {"arch": "mc3_18"}, {"weights": str(path)}, {"checkpoint": path, "arch": "mc3_18"}):
        with pytest.raises(clipcop.UsageError, match="give load_backbone a checkpoint"):
            clipcop.load_backbone(**wrong)  # type: ignore[arg-type]
