"""Training the Gen-1 model on Ray Train: recipes, the training manifest, the paper's objective,
preprocessing on Ray Data with the edit's own depth, CLIP and autoencoder code, and the trainer."""
