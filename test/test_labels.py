import numpy as np

from follow_line.driving.card import V_CLASS_VALUES, W_CLASS_VALUES
from follow_line.driving.zoo import default_card
from follow_line.learning.labels import mirror_w_class, targets, v_class, w_class


def test_seed_w_classes():
    w = np.array([-1.2, -1.0, -0.6, -0.2, 0.0, 0.05, 0.3, 0.5, 0.7, 2.0])
    assert list(np.asarray(W_CLASS_VALUES)[w_class(w)]) == \
        [-1.9, -1.9, -0.75, -0.25, 0.0, 0.0, 0.25, 0.75, 0.75, 1.9]


def test_seed_v_classes():
    v = np.array([4.0, 7.0, 7.5, 9.0, 9.5, 11.0, 11.5])
    assert list(np.asarray(V_CLASS_VALUES)[v_class(v)]) == [5.0, 5.0, 8.0, 8.0, 10.0, 10.0, 13.0]


def test_flip_mirrors_w_classes():
    w = np.array([-1.5, -0.3, 0.0, 0.7])
    assert np.array_equal(mirror_w_class(w_class(w)), w_class(-w))


def test_regression_targets_are_normalised_by_the_card():
    card = default_card("pilotnet")
    t = targets(card, np.array([13.0, 6.5]), np.array([-3.0, 1.5]))
    assert t["v"].shape == (2, 1)
    assert np.allclose(t["v"][:, 0], [1.0, 0.5]) and np.allclose(t["w"][:, 0], [-1.0, 0.5])
    c = targets(default_card("classification_7w_4v"), np.array([12.0]), np.array([-0.6]))
    assert c["w_class"].tolist() == [1] and c["v_class"].tolist() == [3]
