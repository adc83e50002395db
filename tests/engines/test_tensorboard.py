"""TensorBoard: the learning rate per epoch, image previews of every channel."""

from __future__ import annotations

import torch
from ignite.engine import Engine

from medunet.engines.tensorboard import ImagePreview, LearningRateLogger


class _Writer:
    def __init__(self) -> None:
        self.scalars: list[tuple] = []
        self.images: list[tuple] = []

    def add_scalar(self, tag, value, step) -> None:
        self.scalars.append((tag, value, step))

    def add_image(self, tag, image, step, dataformats="CHW") -> None:
        self.images.append((tag, image, step, dataformats))

    def flush(self) -> None:
        pass


def test_learning_rate_per_epoch_and_per_group():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    one = torch.optim.SGD([a], lr=0.5)
    two = torch.optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.2}])
    writer = _Writer()
    trainer = Engine(lambda engine, batch: None)
    LearningRateLogger(writer, one).attach(trainer)
    LearningRateLogger(writer, two, tag="lr2").attach(trainer)
    trainer.run(range(1), max_epochs=2)
    assert ("lr", 0.5, 2) in writer.scalars
    assert ("lr2/0", 0.1, 1) in writer.scalars and ("lr2/1", 0.2, 1) in writer.scalars


def test_previews_every_channel_of_named_keys_at_the_interval():
    writer = _Writer()
    label = torch.zeros(1, 2, 6, 8)  # (B, 2: classes + weight map, H, W)
    label[0, 1] = torch.linspace(1, 10, 48).reshape(6, 8)
    batch = {"image": torch.rand(1, 1, 6, 8), "label": label}
    trainer = Engine(lambda engine, b: [{"pred": torch.rand(3, 6, 8)}])
    ImagePreview(writer, "train", ("image", "label"), ("pred",), interval=2).attach(trainer)
    trainer.run([batch, batch], max_epochs=3)
    tags = [(t, s) for t, _, s, _ in writer.images]
    expected = ["train/image_0", "train/label_0", "train/label_1", "train/pred_0",
                "train/pred_1", "train/pred_2"]  # fmt: skip
    assert tags == [(t, 1) for t in expected] + [(t, 3) for t in expected]  # epochs 1 and 3
    weight = next(img for t, img, s, _ in writer.images if t == "train/label_1")
    assert weight.shape == (6, 8) and float(weight.min()) == 0.0 and float(weight.max()) == 1.0


def test_a_volume_preview_is_its_middle_slice():
    writer = _Writer()
    volume = torch.zeros(1, 1, 5, 4, 4)
    volume[0, 0, 2] = torch.arange(16.0).reshape(4, 4)
    trainer = Engine(lambda engine, b: None)
    ImagePreview(writer, "validation", ("image",), ()).attach(trainer)
    trainer.run([{"image": volume}], max_epochs=1)
    ((_, image, _, fmt),) = writer.images
    assert fmt == "HW" and image.shape == (4, 4) and float(image[3, 3]) == 1.0
