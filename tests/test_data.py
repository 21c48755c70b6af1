"""Data loading, IDX files, models, error_rate, train_model and get_device."""
import gzip
import os
import struct

import numpy as np
import pytest
import torch
from torch import nn

from d2lhpo import (DataSplits, SmallCNN, error_rate, get_device,
                    load_digits_data, load_fashion_mnist, read_idx,
                    softmax_regression, train_model)

SPLITS = ('train', 'val', 'test')


# ---------------------------------------------------------------- digits
@pytest.fixture(scope='module')
def digits():
    return load_digits_data()


def test_digits_split_sizes(digits):
    assert isinstance(digits, DataSplits)
    assert [len(getattr(digits, s)[1]) for s in SPLITS] == [1197, 300, 300]
    assert 'train=1197' in repr(digits)


def test_digits_shapes_dtypes_and_ranges(digits):
    for split in SPLITS:
        X, y = getattr(digits, split)
        assert X.shape == (len(y), 1, 8, 8)
        assert X.dtype == torch.float32
        assert X.min() >= 0 and X.max() <= 1
        assert y.dtype == torch.int64
        assert y.min() >= 0 and y.max() <= 9
    assert digits.train[0].max() == 1.0  # scaled, not clipped


def test_digits_splits_are_disjoint(digits):
    rows = {s: {tuple(x.flatten().tolist()) for x in getattr(digits, s)[0]}
            for s in SPLITS}
    assert len(rows['train']) + len(rows['val']) + len(rows['test']) == 1797
    assert not rows['train'] & rows['val']
    assert not rows['train'] & rows['test']
    assert not rows['val'] & rows['test']


def test_every_class_is_in_every_digits_split(digits):
    for split in SPLITS:
        assert set(getattr(digits, split)[1].tolist()) == set(range(10))


def test_digits_split_is_deterministic(digits):
    import d2lhpo
    again = load_digits_data()
    d2lhpo.book._digits_arrays.cache_clear()  # split again from scratch
    fresh = load_digits_data()
    for split in SPLITS:
        for other in (again, fresh):
            X, y = getattr(other, split)
            assert torch.equal(X, getattr(digits, split)[0])
            assert torch.equal(y, getattr(digits, split)[1])


def test_digits_calls_return_independent_tensors(digits):
    X, _ = load_digits_data().train
    X += 1.0  # a caller that changes its tensors in place
    assert torch.equal(load_digits_data().train[0], digits.train[0])
    assert float(load_digits_data().train[0].max()) <= 1.0


# -------------------------------------------------------------- read_idx
def idx_bytes(array, type_code=0x08):
    """Encode `array` as an IDX file (type 0x08 means uint8)."""
    dtype = {0x08: np.uint8, 0x0C: '>i4', 0x0D: '>f4'}[type_code]
    header = bytes([0, 0, type_code, array.ndim])
    header += struct.pack(f'>{array.ndim}I', *array.shape)
    return header + np.asarray(array, dtype=dtype).tobytes()


def write_idx(path, array, type_code=0x08):
    data = idx_bytes(array, type_code)
    opener = gzip.open if str(path).endswith('.gz') else open
    with opener(path, 'wb') as f:
        f.write(data)
    return path


def make_images(n, seed):
    """n distinct uint8 28x28 images; image i has i in its first pixels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(n) % 256
    images[:, 0, 1] = np.arange(n) // 256
    images[0, 1, :2] = [0, 255]  # make sure both extremes occur
    return images


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_round_trips_images_and_labels(tmp_path, suffix):
    images = make_images(5, seed=0)
    labels = np.arange(5, dtype=np.uint8)
    img_path = write_idx(tmp_path / f'images{suffix}', images)
    lbl_path = write_idx(tmp_path / f'labels{suffix}', labels)
    with (gzip.open if suffix else open)(img_path, 'rb') as f:
        assert f.read(4) == b'\x00\x00\x08\x03'  # magic 0x00000803
    with (gzip.open if suffix else open)(lbl_path, 'rb') as f:
        assert f.read(4) == b'\x00\x00\x08\x01'  # magic 0x00000801
    got_images, got_labels = read_idx(img_path), read_idx(lbl_path)
    assert got_images.shape == (5, 28, 28) and got_images.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_idx_reads_big_endian_int32_and_float32(tmp_path):
    ints = np.array([[1, -2, 70000]], dtype=np.int64)
    floats = np.array([0.5, -1.25], dtype=np.float32)
    np.testing.assert_array_equal(
        read_idx(write_idx(tmp_path / 'i', ints, 0x0C)), ints)
    np.testing.assert_array_equal(
        read_idx(write_idx(tmp_path / 'f', floats, 0x0D)), floats)


@pytest.mark.parametrize('magic', [b'\x01\x00\x08\x01', b'\x00\x01\x08\x01',
                                   b'\x00\x00\x07\x01', b'PK\x03\x04'],
                         ids=['byte0', 'byte1', 'unknown-type', 'zip'])
def test_read_idx_rejects_bad_magic_number(tmp_path, magic):
    path = tmp_path / 'bad'
    path.write_bytes(magic + struct.pack('>I', 3) + bytes(3))
    with pytest.raises(ValueError, match='magic'):
        read_idx(path)


def test_read_idx_rejects_a_file_too_short_for_a_magic_number(tmp_path):
    path = tmp_path / 'short'
    path.write_bytes(b'\x00\x00')
    with pytest.raises(ValueError):
        read_idx(path)


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_rejects_truncated_data(tmp_path, suffix):
    data = idx_bytes(make_images(3, seed=0))[:-100]
    path = tmp_path / f'truncated{suffix}'
    with (gzip.open if suffix else open)(path, 'wb') as f:
        f.write(data)
    with pytest.raises(ValueError, match='truncated'):
        read_idx(path)


def test_read_idx_rejects_truncated_header(tmp_path):
    # The magic number promises 3 dimensions, but the file ends inside the
    # list of sizes.
    path = tmp_path / 'header'
    path.write_bytes(b'\x00\x00\x08\x03' + struct.pack('>I', 10))
    with pytest.raises(ValueError):
        read_idx(path)


# ------------------------------------------------------ Fashion-MNIST
NUM_TRAIN, NUM_TEST = 50, 20


def write_fashion_mnist(directory, gz=False, num_train=NUM_TRAIN,
                        num_test=NUM_TEST):
    """Fake Fashion-MNIST files; the label of an image is its index % 10."""
    suffix = '.gz' if gz else ''
    for prefix, n, seed in (('train', num_train, 0), ('t10k', num_test, 1)):
        write_idx(directory / f'{prefix}-images-idx3-ubyte{suffix}',
                  make_images(n, seed))
        write_idx(directory / f'{prefix}-labels-idx1-ubyte{suffix}',
                  (np.arange(n) % 10).astype(np.uint8))


def image_index(X):
    """Recover the index written into each (scaled) fake image."""
    pixels = torch.round(X[:, 0, 0, :2] * 255).long()
    return (pixels[:, 0] + 256 * pixels[:, 1]).tolist()


@pytest.mark.parametrize('gz', [False, True], ids=['plain', 'gzipped'])
def test_load_fashion_mnist_shapes_scaling_and_split_sizes(tmp_path, gz):
    write_fashion_mnist(tmp_path, gz=gz)
    data = load_fashion_mnist(data_dir=tmp_path, num_val=10)
    assert isinstance(data, DataSplits)
    sizes = {s: len(getattr(data, s)[1]) for s in SPLITS}
    assert sizes == {'train': 40, 'val': 10, 'test': 20}
    for split in SPLITS:
        X, y = getattr(data, split)
        assert X.shape == (len(y), 1, 28, 28)
        assert X.dtype == torch.float32 and y.dtype == torch.int64
        assert X.min() >= 0 and X.max() <= 1
    raw = make_images(NUM_TEST, seed=1)
    np.testing.assert_allclose(data.test[0][:, 0].numpy(), raw / 255.0,
                               rtol=1e-6)
    assert data.train[0].min() == 0 or data.val[0].min() == 0
    assert max(data.train[0].max(), data.val[0].max()) == 1.0


def test_load_fashion_mnist_val_is_disjoint_from_train_and_keeps_labels(
        tmp_path):
    write_fashion_mnist(tmp_path)
    data = load_fashion_mnist(data_dir=tmp_path, num_val=15)
    train_ids, val_ids = image_index(data.train[0]), image_index(data.val[0])
    assert len(val_ids) == 15
    assert not set(train_ids) & set(val_ids)
    assert sorted(train_ids + val_ids) == list(range(NUM_TRAIN))
    # every label still belongs to its image
    assert data.train[1].tolist() == [i % 10 for i in train_ids]
    assert data.val[1].tolist() == [i % 10 for i in val_ids]
    assert data.test[1].tolist() == [i % 10 for i in range(NUM_TEST)]


def test_load_fashion_mnist_is_deterministic(tmp_path):
    write_fashion_mnist(tmp_path)
    a = load_fashion_mnist(data_dir=tmp_path, num_val=10)
    b = load_fashion_mnist(data_dir=str(tmp_path), num_val=10)
    for split in SPLITS:
        assert torch.equal(getattr(a, split)[0], getattr(b, split)[0])
        assert torch.equal(getattr(a, split)[1], getattr(b, split)[1])


def test_load_fashion_mnist_without_files_names_directory_and_file(
        tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(data_dir=tmp_path, num_val=10)
    message = str(info.value)
    assert str(tmp_path) in message
    assert 'train-images-idx3-ubyte' in message


def test_load_fashion_mnist_names_the_one_missing_file(tmp_path):
    write_fashion_mnist(tmp_path)
    os.remove(tmp_path / 't10k-labels-idx1-ubyte')
    with pytest.raises(FileNotFoundError,
                       match='t10k-labels-idx1-ubyte') as info:
        load_fashion_mnist(data_dir=tmp_path, num_val=10)
    assert str(tmp_path) in str(info.value)


def test_load_fashion_mnist_relative_dir_is_shown_as_absolute(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist(data_dir='nowhere', num_val=10)
    assert str(tmp_path / 'nowhere') in str(info.value)


def test_load_fashion_mnist_rejects_mismatched_images_and_labels(tmp_path):
    write_fashion_mnist(tmp_path)
    write_idx(tmp_path / 'train-labels-idx1-ubyte',
              np.zeros(NUM_TRAIN - 1, dtype=np.uint8))
    with pytest.raises(ValueError, match='labels'):
        load_fashion_mnist(data_dir=tmp_path, num_val=10)


@pytest.mark.parametrize('num_val', [0, -1, NUM_TRAIN, NUM_TRAIN + 1])
def test_load_fashion_mnist_rejects_num_val_out_of_range(tmp_path, num_val):
    write_fashion_mnist(tmp_path)
    with pytest.raises(ValueError, match='num_val'):
        load_fashion_mnist(data_dir=tmp_path, num_val=num_val)


@pytest.mark.parametrize('num_val', [10.5, True, '10'],
                         ids=['float', 'bool', 'str'])
def test_load_fashion_mnist_rejects_num_val_that_is_not_an_int(tmp_path,
                                                              num_val):
    write_fashion_mnist(tmp_path)
    with pytest.raises(ValueError, match='num_val'):
        load_fashion_mnist(data_dir=tmp_path, num_val=num_val)


# ------------------------------------------------------------ error_rate
def test_error_rate_counts_examples_not_batches():
    # The "model" returns its input as logits, so we choose the predictions.
    n, batch_size = 10, 4            # batches of 4, 4 and 2 examples
    y = torch.zeros(n, dtype=torch.long)
    logits = torch.zeros(n, 3)
    logits[:, 0] = 1.0               # predict class 0 (right) ...
    logits[8:, 0], logits[8:, 2] = 0.0, 1.0   # ... except the last batch
    error = error_rate(nn.Identity(), logits, y, batch_size=batch_size)
    assert error == pytest.approx(2 / 10)
    # averaging per-batch errors would have given (0 + 0 + 1) / 3
    assert error != pytest.approx(1 / 3)


def test_error_rate_with_one_batch_and_with_tiny_batches_agree():
    torch.manual_seed(0)
    X, y = torch.randn(23, 5), torch.randint(0, 5, (23,))
    model = nn.Linear(5, 5)
    wrong = (model(X).argmax(1) != y).sum().item()
    for batch_size in (1, 3, 7, 23, 1024):
        assert error_rate(model, X, y, batch_size=batch_size) == \
            pytest.approx(wrong / 23)


def test_error_rate_puts_the_model_in_eval_mode():
    model = nn.Sequential(nn.Dropout(0.5), nn.Linear(4, 2))
    model.train()
    error_rate(model, torch.ones(3, 4), torch.zeros(3, dtype=torch.long))
    assert not model.training


# ---------------------------------------------------------- train_model
def test_train_model_returns_one_validation_error_per_epoch(digits):
    torch.manual_seed(0)
    errors = train_model(softmax_regression(), digits, lr=0.5,
                         batch_size=64, num_epochs=2,
                         device=torch.device('cpu'))
    assert len(errors) == 2
    assert all(isinstance(e, float) and 0 <= e <= 1 for e in errors)
    assert errors[-1] < 0.5  # far better than chance (0.9)


def test_train_model_is_reproducible_with_the_same_seeds(digits):
    def run():
        torch.manual_seed(0)
        return train_model(softmax_regression(), digits, lr=0.1,
                           batch_size=128, num_epochs=1, seed=3)
    assert run() == run()


# ------------------------------------------------------------ get_device
def test_get_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    device = get_device()
    assert isinstance(device, torch.device)
    assert device == torch.device('cpu')


def test_get_device_is_first_gpu_with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert get_device() == torch.device('cuda', 0)


# ---------------------------------------------------------------- models
@pytest.mark.parametrize('size', [8, 28])
def test_small_cnn_works_on_8x8_and_28x28_images(size):
    model = SmallCNN(channels=4, dropout=0.1)
    out = model(torch.rand(3, 1, size, size))
    assert out.shape == (3, 10)
    assert torch.isfinite(out).all()


def test_softmax_regression_maps_flattened_images_to_class_scores():
    assert softmax_regression()(torch.rand(2, 1, 8, 8)).shape == (2, 10)
    assert softmax_regression(784, 5)(torch.rand(2, 1, 28, 28)).shape == \
        (2, 5)
