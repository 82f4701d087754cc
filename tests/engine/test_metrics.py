import numpy as np
import pytest

from tvseg.engine.metrics import confusion_matrix, regularization_effect, scores


def test_confusion_matrix_and_scores_by_hand():
    truth = np.array([[0, 0, 1], [1, 2, 255]])
    prediction = np.array([[0, 1, 1], [1, 2, 0]])
    cm = confusion_matrix(prediction, truth, num_classes=4, ignore_index=255)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 2] = 1, 1, 2, 1
    assert np.array_equal(cm, expected)
    result = scores(cm)
    assert result["accuracy"] == pytest.approx(100 * 4 / 5)
    # IoU: class 0 = 1/(2+1-1) = 0.5, class 1 = 2/(2+3-2) = 2/3, class 2 = 1, class 3 absent -> NaN, left out
    assert np.allclose(result["iou"][:3], [50.0, 200 / 3, 100.0]) and np.isnan(result["iou"][3])
    assert result["miou"] == pytest.approx((50 + 200 / 3 + 100) / 3)


def test_confusion_matrix_rejects_unknown_truth_labels():
    with pytest.raises(ValueError, match="outside 0..2"):
        confusion_matrix(np.zeros((2, 2)), np.array([[0, 3], [1, 2]]), num_classes=3)


def test_regularization_effect_by_hand():
    u = np.array([[0, 0, 2], [0, 1, 2]])
    # forward differences, zero on the last row/column, each label change counting 1:
    # rows: [0,1,0] then 0; columns: [0,1,0] and [1,1,0]
    # |grad| = [[0, sqrt(1+1), 0], [1, 1, 0]] -> sum = sqrt(2) + 2, over 6 pixels
    assert regularization_effect(u) == pytest.approx(100 * (np.sqrt(2) + 2) / 6)
    assert regularization_effect(np.ones((5, 7))) == 0.0


def test_regularization_effect_ignores_class_numbering():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 11, size=(40, 50))
    labels[10:30, 5:45] = 3  # a smooth region beside noisy ones
    permutation = rng.permutation(11)
    assert regularization_effect(permutation[labels]) == regularization_effect(labels)
    # relabelling two classes far apart in id (0 <-> 10) changes nothing either
    swapped = np.where(labels == 0, 10, np.where(labels == 10, 0, labels))
    assert regularization_effect(swapped) == regularization_effect(labels)
