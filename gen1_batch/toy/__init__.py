"""The toy world: procedurally generated scenes whose depth, masks and materials are known exactly,
to train a small Gen-1 stack on and to measure the paper's claims with (issue 14).

world.py    scenes (typed data), vocabulary, captions, the held-out seed split
render.py   numpy ray casting: frames, exact depth and masks
dataset.py  scenes on disk, training and evaluation manifests (`python -m gen1_batch.toy.dataset`)
measures.py structure error, material share, flicker: pure functions against a scene's truth
"""
