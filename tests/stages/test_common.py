import numpy as np

from gen1_batch.stages.common import pack_arrays, unpack_arrays


def test_named_arrays_pack_into_one_column_and_back():
    arrays = {"text": np.ones((77, 8), np.float32), "image": np.arange(4, dtype=np.float16)}
    back = unpack_arrays(pack_arrays(arrays))
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert back["image"].dtype == np.float16
    assert unpack_arrays(pack_arrays({})) == {}
