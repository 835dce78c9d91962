"""The video CVAE: model shapes for both presets, the task on tiny written data sets, PSNR."""

import base64
import io
import math

import pytest
import torch
from PIL import Image

from cvae_study.datasets import synthetic
from cvae_study.models.video_cvae import VideoCVAE, VideoCVAEConfig, resolve_preset
from cvae_study.study import config, scoring
from cvae_study.study import names as m
from cvae_study.study.names import IMAGES
from cvae_study.study.tasks import checkpoint
from cvae_study.study.tasks.video import Clips, VideoTask, load_data

# A tiny run: four 14-frame pushing sequences (validation gets two), clips of 2 + 4 frames.
TINY_VIDEO = {"model.preset": "cpu", "model.latent_size": 4, "model.condition_size": 8,
              "data.n_past": 2, "data.n_future": 4, "train.batch_size": 4, "train.epochs": 2,
              "eval.clips": 4, "eval.strip_clips": 2}
CONDITIONS = {"pushing": ((64, 64), (7,)), "dance": ((32, 64), (3, 32, 64))}


@pytest.fixture(scope="module")
def pushing_dir(tmp_path_factory):
    return synthetic.write_pushing(tmp_path_factory.mktemp("pushing"), 4, seed=0, frames=14)


@pytest.fixture(scope="module")
def dance_dir(tmp_path_factory):
    return synthetic.write_dance(tmp_path_factory.mktemp("dance"), 2, seed=0)


def tiny_task(kind, folder, **overrides):
    cfg = config.build("video", {**TINY_VIDEO, "data.kind": kind, "data.dir": str(folder),
                                 **overrides})
    return VideoTask(cfg, torch.device("cpu"))


@pytest.mark.parametrize("preset", ["cpu", "svg"])
@pytest.mark.parametrize("kind", ["pushing", "dance"])
@pytest.mark.parametrize("prior", ["fixed", "learned"])
def test_forward_backward_and_sampling_shapes(preset, kind, prior):
    frame_size, condition_shape = CONDITIONS[kind]
    model = VideoCVAE(VideoCVAEConfig(prior=prior, latent_size=6), preset, frame_size,
                      condition_shape)
    frames = torch.rand(2, 4, 3, *frame_size)
    conditions = torch.rand(2, 4, *condition_shape)
    rollout = model.unroll(frames, conditions, n_past=2)
    assert rollout.frames.shape == (2, 3, 3, *frame_size)
    assert rollout.posterior[0].shape == rollout.prior[1].shape == (2, 3, 6)
    assert 0 <= rollout.frames.min() and rollout.frames.max() <= 1
    rollout.frames.mean().backward()
    assert model.predictor.embed.weight.grad.abs().sum() > 0
    assert model.condition_encoder.net[0].weight.grad.abs().sum() > 0
    if prior == "fixed":
        assert model.prior is None and rollout.prior[0].abs().sum() == 0
    model.eval()
    with torch.no_grad():
        draws = [model.unroll(frames, conditions, 2, from_prior=True,
                              noise=torch.Generator().manual_seed(seed)).frames
                 for seed in (0, 0, 1)]
    assert torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])


@pytest.mark.parametrize("spatial", [True, False])
@pytest.mark.parametrize("preset", ["cpu", "svg"])
@pytest.mark.parametrize("kind", ["pushing", "dance"])
def test_the_condition_map_reaches_the_decoder_and_can_be_turned_off(spatial, preset, kind):
    frame_size, condition_shape = CONDITIONS[kind]
    model = VideoCVAE(VideoCVAEConfig(latent_size=4, spatial_condition=spatial), preset,
                      frame_size, condition_shape)
    assert (model.condition_map is not None) == spatial  # off: SVG-LP's own model
    frames = torch.rand(2, 4, 3, *frame_size)
    conditions = torch.rand(2, 4, *condition_shape)
    for teacher_forced in (True, False):
        model.zero_grad()
        rollout = model.unroll(frames, conditions, n_past=2, teacher_forced=teacher_forced)
        assert rollout.frames.shape == (2, 3, 3, *frame_size)
        rollout.frames.mean().backward()
        assert model.condition_encoder.net[0].weight.grad.abs().sum() > 0
        if spatial:
            assert model.condition_map.net[0].weight.grad.abs().sum() > 0


def test_the_presets_differ_in_size_and_auto_picks_by_device():
    sizes = {preset: sum(p.numel() for p in VideoCVAE(VideoCVAEConfig(), preset, (64, 64),
                                                       (7,)).parameters())
             for preset in ("cpu", "svg")}
    assert sizes["svg"] > 8 * sizes["cpu"]
    assert resolve_preset(VideoCVAEConfig(), torch.device("cpu")) == "cpu"
    assert resolve_preset(VideoCVAEConfig(), torch.device("cuda")) == "svg"
    assert resolve_preset(VideoCVAEConfig(preset="svg"), torch.device("cpu")) == "svg"


def test_frames_must_be_multiples_of_sixteen():
    with pytest.raises(ValueError, match="multiples of 16"):
        VideoCVAE(VideoCVAEConfig(), "cpu", (40, 64), (7,))


def test_psnr_matches_a_hand_computed_value():
    target = torch.full((1, 3, 4, 4), 0.5)
    black = torch.zeros_like(target)
    assert scoring.psnr(black, target).item() == pytest.approx(10 * math.log10(4))
    half = target.clone()
    half[..., :2, :] = 0.6  # half the pixels off by 0.1: MSE 0.005
    assert scoring.psnr(half, target).item() == pytest.approx(10 * math.log10(1 / 0.005), rel=1e-5)
    assert scoring.psnr(target, target).item() == pytest.approx(100.0)


def test_clips_stay_inside_their_sequence(pushing_dir):
    split = load_data(config.build("video", {**TINY_VIDEO, "data.dir": str(pushing_dir)}).data)
    clips = Clips(split.train, 6, torch.device("cpu"))
    ends = clips.offsets + clips.lengths
    starts = clips.random_starts(torch.Generator().manual_seed(0))
    assert len(starts) == 4 * (14 // 6)
    sequence = torch.searchsorted(ends, starts, right=True)
    assert (starts + 6 <= ends[sequence]).all()
    assert clips.tiled_starts().tolist() == [0, 6, 14, 20, 28, 34, 42, 48]
    frames, conditions = clips.gather(starts[:3])
    assert frames.shape == (3, 6, 3, 64, 64) and conditions.shape == (3, 6, 7)
    assert frames.dtype == torch.float32 and frames.max() <= 1


@pytest.mark.parametrize("kind", ["pushing", "dance"])
def test_a_task_trains_evaluates_and_draws_a_strip(kind, pushing_dir, dance_dir):
    folder = pushing_dir if kind == "pushing" else dance_dir
    task = tiny_task(kind, folder)
    height = 64 if kind == "pushing" else 32
    losses = [task.train_epoch()[m.TRAIN_LOSS] for _ in range(2)]
    assert all(math.isfinite(loss) for loss in losses) and task.epoch == 2
    evaluation = task.evaluate()
    results = evaluation.metrics
    assert {m.val_psnr_at(k) for k in range(1, 5)} <= set(results)
    assert m.val_psnr_at(5) not in results
    for key in (m.VAL_PSNR, m.VAL_PSNR_COPY_LAST, m.VAL_PSNR_OTHER_CONDITION):
        assert 0 < results[key] < 100, key
    assert results[m.VAL_PSNR] == pytest.approx(
        sum(results[m.val_psnr_at(k)] for k in range(1, 5)) / 4)
    strip = Image.open(io.BytesIO(base64.b64decode(evaluation.samples[IMAGES]["strip.png"])))
    assert strip.size == (6 * 64, 2 * 2 * height)  # 6 frames wide; truth and prediction rows


def test_a_few_steps_on_one_batch_lower_the_loss(pushing_dir):
    task = tiny_task("pushing", pushing_dir, **{"optim.lr": 3e-3})
    batch = next(iter(task.batches()))
    first = task.train_step(batch, 0.0, True)[0].item()
    for _ in range(15):
        last = task.train_step(batch, 0.0, True)[0].item()
    assert last < 0.7 * first


def test_bf16_mixed_precision_steps_train_in_autocast_and_keep_fp32_weights(pushing_dir):
    # one kind: autocast wraps the same step for both; bf16 on a CPU is slow
    task = tiny_task("pushing", pushing_dir, **{"train.precision": "bf16", "optim.lr": 3e-3})
    batch = next(iter(task.batches()))
    conv = next(module for module in task.model.modules() if isinstance(module, torch.nn.Conv2d))
    dtypes = []
    conv.register_forward_hook(lambda module, inputs, output: dtypes.append(output.dtype))
    first = task.train_step(batch, 1.0, True)[0]
    assert set(dtypes) == {torch.bfloat16}
    for _ in range(10):
        last = task.train_step(batch, 1.0, True)[0]
    assert first.dtype == torch.float32 and last.item() < first.item()
    assert all(p.dtype == torch.float32 for p in task.model.parameters())


def test_free_running_training_feeds_predictions_back(pushing_dir):
    task = tiny_task("pushing", pushing_dir, **{"tf.start": 0.0})
    metrics = task.train_epoch()
    assert metrics[m.TRAIN_TF_RATIO] == 0.0 and math.isfinite(metrics[m.TRAIN_LOSS])


def test_a_checkpoint_restores_the_same_predictions(pushing_dir, tmp_path):
    task = tiny_task("pushing", pushing_dir)
    task.train_epoch()
    folder = checkpoint.save(tmp_path / "ckpt", task.state(), config.flatten(task.config),
                             "video")
    expected = task.evaluate().metrics, task.train_epoch()  # from the saved state of torch's RNG
    saved = checkpoint.load(folder)
    fresh = VideoTask(config.build("video", saved["config"]), torch.device("cpu"))
    fresh.load_state(saved["state"])
    assert (fresh.evaluate().metrics, fresh.train_epoch()) == expected
