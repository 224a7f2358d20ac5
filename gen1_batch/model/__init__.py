"""The Gen-1 model: video UNet, structure, content, guidance, windows, sampler, presets, loading and the
quality metrics of an edit."""
