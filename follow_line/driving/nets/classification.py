"""Classification networks of the seed study: w in 7 classes, v constant or in 4 classes.

The seed (Vanessa Fernandez, TFM 2018) trained a "SmallerVGGNet" (after pyimagesearch)
per variable: three conv blocks (32; 64, 64; 128, 128 filters, 3x3 "same", relu, each
followed by BatchNormalization, max-pooling 3x3 / 2x2 / 2x2 and Dropout 0.25), Flatten,
Dense 1024, relu, BatchNormalization, Dropout 0.5 and a class layer. Here one network has
a softmax head per variable: ``"w_class"`` (7 classes) and, unless v is constant,
``"v_class"`` (4 classes). The class tables (thresholds and values) live outside, in
the model card. The seed's last layer was a sigmoid under a categorical cross-entropy;
a softmax is the correct head for one-of-N classes.

The same feature extractor is the front half of the seed's basic CNN+LSTM
(:mod:`follow_line.driving.nets.cnn_lstm`), so it is defined once here.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from follow_line.driving.nets.common import FrameShape, check_positive, frame_shape, image_input

#: Default input: the cropped road (rows 240-480 of 640x480) at 33x100, half PilotNet's
#: 66x200, which keeps the 1024-unit dense layer small (2x8x128 features).
DEFAULT_INPUT: FrameShape = (33, 100, 3)

#: Number of w classes and v classes of the seed study.
W_CLASSES = 7
V_CLASSES = 4

#: (filters of the convs, pool size) of the three conv blocks.
VGG_BLOCKS: tuple[tuple[tuple[int, ...], int], ...] = (((32,), 3), ((64, 64), 2),
                                                       ((128, 128), 2))


def smaller_vgg_features(x: keras.KerasTensor, dense_units: int = 1024) -> keras.KerasTensor:
    """Build the SmallerVGGNet feature extractor, up to the Dropout(0.5) after its dense layer.

    Layer by layer as the seed's CNN+LSTM summary: Conv2D(relu) then BatchNormalization
    for each conv, MaxPooling2D and Dropout(0.25) closing each block, Flatten,
    Dense, Activation("relu"), BatchNormalization, Dropout(0.5).
    """
    conv = 0
    for block, (filters, pool) in enumerate(VGG_BLOCKS, start=1):
        for n in filters:
            conv += 1
            x = layers.Conv2D(n, 3, padding="same", activation="relu", name=f"conv{conv}")(x)
            x = layers.BatchNormalization(axis=-1, name=f"conv{conv}_norm")(x)
        x = layers.MaxPooling2D(pool_size=pool, name=f"pool{block}")(x)
        x = layers.Dropout(0.25, name=f"dropout{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, name="fc")(x)
    x = layers.Activation("relu", name="fc_relu")(x)
    x = layers.BatchNormalization(name="fc_norm")(x)
    return layers.Dropout(0.5, name="fc_dropout")(x)


def build_classification(input_shape: Sequence[int] | None = None, *, v_head: bool = True,
                         w_classes: int = W_CLASSES, v_classes: int = V_CLASSES,
                         name: str = "classification_7w_4v") -> keras.Model:
    """Build the SmallerVGGNet classifier on ``"image"`` (default 33x100x3).

    Outputs ``"w_class"`` (softmax over ``w_classes``) then, if ``v_head``, ``"v_class"``
    (softmax over ``v_classes``); without ``v_head`` v is a constant given outside.
    """
    inputs = image_input(frame_shape(input_shape, DEFAULT_INPUT))
    x = smaller_vgg_features(inputs)
    heads = [layers.Dense(check_positive("w_classes", w_classes), activation="softmax",
                          name="w_class")(x)]
    if v_head:
        heads.append(layers.Dense(check_positive("v_classes", v_classes),
                                  activation="softmax", name="v_class")(x))
    return keras.Model(inputs, heads, name=name)
